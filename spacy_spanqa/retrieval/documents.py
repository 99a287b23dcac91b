"""Reading the knowledge base folder: which files count, their bytes and hashes, and the
documents parsed from them (text, Markdown, HTML, PDF, JSON/JSONL records, SQuAD JSON).

    read_sources(folder)   every supported file, hashed but not parsed (what a sync compares)
    SourceFile.documents() its Documents, parsed by extension
    load_documents(folder) every Document under a folder

Cutting documents into passages is `passages.py`'s job.
"""
import hashlib
import io
import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

from tqdm import tqdm

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".json", ".jsonl")
SUPPORTED = "text (.txt, .md), HTML (.html, .htm), PDF (.pdf), JSON/JSONL records and SQuAD JSON"
TEXT_FIELDS = ("text", "content", "body")
HTML_PARAGRAPH_TAGS = [
    "p", "div", "section", "article", "header", "footer", "main", "aside", "ul", "ol",
    "dl", "table", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "figure", "hr",
]
HTML_LINE_TAGS = ["li", "tr", "td", "th", "dt", "dd", "figcaption", "caption"]


class KnowledgeBaseWarning(UserWarning):
    """A file or record of the knowledge base was skipped."""


@dataclass
class Document:
    """One readable text of the knowledge base: a file, a JSON record or a SQuAD paragraph."""

    id: str
    text: str
    title: str
    path: str  # relative to the knowledge base folder, with forward slashes
    url: Optional[str] = None
    metadata: Dict[str, Any] = field(default_factory=dict)


@dataclass
class SourceFile:
    """One file of the knowledge base as read from disk: its name in sources, bytes and their sha256."""

    path: Path
    rel: str  # relative to the knowledge base folder, with forward slashes
    data: bytes
    sha256: str

    def documents(self) -> List[Document]:
        """The documents in this file (parsed now; warns about what it skips)."""
        return parse_file(self.path, self.rel, self.data)


def read_sources(folder: Path, exclude: Optional[Path] = None, progress: bool = False) -> Iterator[SourceFile]:
    """Every readable supported file under `folder`, hashed but not parsed (so unchanged files cost no parsing).

    The one place the knowledge base folder is read: every index syncs from it.
    """
    root = Path(folder)
    for path in tqdm(list_files(root, exclude), desc="Reading files", unit="file", disable=not progress, leave=False):
        data = read_bytes(path)
        if data is not None:
            yield SourceFile(path, relative_name(path, root), data, hashlib.sha256(data).hexdigest())


def load_documents(folder: Path) -> Iterator[Document]:
    """Yield every document under `folder` (recursively); skipped files get a warning naming them."""
    found = False
    for source in read_sources(folder):
        for doc in source.documents():
            found = True
            yield doc
    if not found:
        raise ValueError(no_documents_message(Path(folder)))


def no_documents_message(folder: Path) -> str:
    """The one sentence every index says when a folder holds nothing to index."""
    return f"No documents found in {folder}; supported: {SUPPORTED}."


def list_files(folder: Path, exclude: Optional[Path] = None) -> List[Path]:
    """Supported files under `folder` in a stable order; hidden files and `exclude` are ignored, others warned about."""
    root = Path(folder)
    skip = exclude.resolve() if exclude is not None else None
    if not root.exists():
        raise ValueError(f"The knowledge base folder {root} does not exist; give a folder of documents ({SUPPORTED}).")
    if root.is_file():
        if root.suffix.lower() not in SUPPORTED_SUFFIXES:
            raise ValueError(f"{root} is not a supported document; supported: {SUPPORTED}.")
        return [root]
    files, unsupported = [], []
    for path in sorted(root.rglob("*")):
        if any(part.startswith(".") for part in path.relative_to(root).parts) or not path.is_file():
            continue
        if skip is not None and path.resolve().is_relative_to(skip):
            continue
        (files if path.suffix.lower() in SUPPORTED_SUFFIXES else unsupported).append(path)
    if unsupported:
        names = ", ".join(relative_name(p, root) for p in unsupported[:5]) + (", ..." if len(unsupported) > 5 else "")
        _warn(f"Skipping {len(unsupported)} file(s) of unsupported type in {root} ({names}); supported: {SUPPORTED}.")
    return files


def relative_name(path: Path, root: Path) -> str:
    """The name a file goes by in ids, manifests and sources: relative to the knowledge base, posix-style."""
    return path.name if path == root else path.relative_to(root).as_posix()


def read_bytes(path: Path) -> Optional[bytes]:
    """A file's bytes, or None and a warning naming it when it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as err:
        _skip(path, f"it cannot be read ({err.strerror or err})")
        return None


def parse_file(path: Path, rel: str, data: bytes) -> List[Document]:
    """Documents in one file's bytes, by extension; `rel` names the file in ids and sources."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return _parse_pdf(path, rel, data)
    if b"\x00" in data[:8192]:
        _skip(path, "it looks like a binary file")
        return []
    if suffix in (".html", ".htm"):
        return _parse_html(rel, data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        _skip(path, "it is not UTF-8 text")
        return []
    if suffix == ".jsonl":
        return _parse_jsonl(path, rel, text)
    if suffix == ".json":
        return _parse_json(path, rel, text)
    title = _markdown_title(text) if suffix == ".md" else None
    return _keep_nonempty([Document(rel, text, title or Path(rel).stem, rel)])


def _parse_html(rel: str, data: bytes) -> List[Document]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(["head", "script", "style", "noscript", "template", "nav"]):
        tag.decompose()
    for tag in soup.find_all(HTML_PARAGRAPH_TAGS):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    for tag in soup.find_all(HTML_LINE_TAGS):
        tag.insert_before("\n")
        tag.insert_after(" ")
    for tag in soup.find_all("br"):
        tag.replace_with("\n")
    if not title:
        heading = soup.find("h1")
        title = heading.get_text(" ", strip=True) if heading else Path(rel).stem
    return _keep_nonempty([Document(rel, _tidy(soup.get_text()), title, rel)])


def _parse_pdf(path: Path, rel: str, data: bytes) -> List[Document]:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            _skip(path, "it is an encrypted PDF")
            return []
        pages = [page.extract_text() or "" for page in reader.pages]
        title = reader.metadata.title if reader.metadata else None
    except Exception as err:  # pypdf raises many error types on damaged files; any of them means "skip"
        _skip(path, f"it is not a readable PDF ({type(err).__name__}: {err})")
        return []
    text = "\n\n".join(_tidy(page) for page in pages if page.strip())
    if not text:
        _skip(path, "the PDF has no text layer (scanned pages need OCR first)")
        return []
    return [Document(rel, text, str(title or Path(rel).stem), rel, None, {"pages": len(pages)})]


def _parse_jsonl(path: Path, rel: str, text: str) -> List[Document]:
    docs, bad_lines, no_text = [], [], 0
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            bad_lines.append(n)
            continue
        doc = _record_document(record, rel, n)
        no_text += doc is None
        docs += [doc] if doc else []
    if bad_lines:
        _warn(f"{path}: skipped {len(bad_lines)} line(s) that are not valid JSON (first: line {bad_lines[0]}).")
    return _report_records(path, docs, no_text)


def _parse_json(path: Path, rel: str, text: str) -> List[Document]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        _skip(path, f"it is not valid JSON ({err})")
        return []
    if _is_squad(data):
        return _squad_documents(data, rel)
    records = data if isinstance(data, list) else [data]
    if not all(isinstance(r, dict) for r in records):
        _skip(path, "it is neither a list of JSON objects nor SQuAD-format JSON")
        return []
    docs = [_record_document(r, rel, i) for i, r in enumerate(records)]
    return _report_records(path, [d for d in docs if d], sum(d is None for d in docs))


def _record_document(record: Any, rel: str, index: int) -> Optional[Document]:
    """A JSON record as a Document: text from `text`/`content`/`body`, other fields as metadata."""
    if not isinstance(record, dict):
        return None
    key = next((k for k in TEXT_FIELDS if isinstance(record.get(k), str) and record[k].strip()), None)
    if key is None:
        return None
    url = record.get("url")
    metadata = {k: v for k, v in record.items() if k not in (key, "title", "url")}
    title = str(record.get("title") or Path(rel).stem)
    return Document(f"{rel}:{index}", record[key], title, rel, str(url) if url else None, metadata)


def _report_records(path: Path, docs: List[Document], no_text: int) -> List[Document]:
    if no_text:
        _warn(f"{path}: skipped {no_text} record(s) with no {', '.join(TEXT_FIELDS)} field.")
    if not docs and not no_text:
        _skip(path, "it holds no records")
    return docs


def _is_squad(data: Any) -> bool:
    articles = data.get("data") if isinstance(data, dict) else None
    return isinstance(articles, list) and any(isinstance(a, dict) and "paragraphs" in a for a in articles)


def _squad_documents(data: Dict[str, Any], rel: str) -> List[Document]:
    """One Document per SQuAD context, titled by its article."""
    docs = []
    for a, article in enumerate(data["data"]):
        if not isinstance(article, dict):
            continue
        title = str(article.get("title") or Path(rel).stem)
        for p, paragraph in enumerate(article.get("paragraphs") or []):
            context = paragraph.get("context") if isinstance(paragraph, dict) else None
            if isinstance(context, str) and context.strip():
                docs.append(Document(f"{rel}:{a}:{p}", context, title, rel, None, {"article": a, "paragraph": p}))
    return docs


def _markdown_title(text: str) -> Optional[str]:
    match = re.search(r"^#\s+(.+?)\s*#*\s*$", text, re.MULTILINE)
    return match.group(1) if match else None


def _tidy(text: str) -> str:
    """Collapse runs of spaces within lines and of blank lines, keeping paragraph breaks."""
    lines = [re.sub(r"[^\S\n]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _keep_nonempty(docs: List[Document]) -> List[Document]:
    return [d for d in docs if d.text.strip()]


def _skip(path: Path, reason: str) -> None:
    _warn(f"Skipping {path}: {reason}.")


def _warn(message: str) -> None:
    warnings.warn(message, KnowledgeBaseWarning, stacklevel=3)
