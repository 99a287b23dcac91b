"""Knowledge base: read a folder of documents and split them into passages for retrieval.

Every passage is a verbatim slice of its document's extracted text
(`document.text[p.start_char:p.end_char] == p.text`), so an answer span found
in a passage maps back to exact characters of the source.
"""
import functools
import hashlib
import io
import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Tuple

from spacy.language import Language
from tqdm import tqdm

from ..results import Passage

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".json", ".jsonl")
SUPPORTED = "text (.txt, .md), HTML (.html, .htm), PDF (.pdf), JSON/JSONL records and SQuAD JSON"
TEXT_FIELDS = ("text", "content", "body")
# Paragraphs longer than this are fed to the sentencizer in pieces (spaCy's max_length guard).
MAX_CHUNK_CHARS = 100_000

PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n\s*")
WORD = re.compile(r"\S+")
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
        return parse_file(self.path, self.rel, self.data)

    def passages(self, max_words: int = 120, overlap_sentences: int = 1) -> List[Passage]:
        return [p for doc in self.documents() for p in split_passages(doc, max_words, overlap_sentences)]


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


def passages_from_folder(folder: Path, max_words: int = 120, overlap_sentences: int = 1) -> Iterator[Passage]:
    """Yield the passages of every document under `folder`."""
    for doc in load_documents(folder):
        yield from split_passages(doc, max_words, overlap_sentences)


def no_documents_message(folder: Path) -> str:
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


class _Unit(NamedTuple):
    """A sentence (or a budget-sized piece of one) as character offsets in its document."""

    start: int
    end: int
    words: int
    paragraph: int


def split_passages(doc: Document, max_words: int = 120, overlap_sentences: int = 1) -> List[Passage]:
    """Pack whole sentences into passages of at most `max_words` words, with exact offsets.

    Paragraphs (blank-line breaks) start a new passage unless the current one
    is still under half the budget; consecutive passages of one paragraph
    share `overlap_sentences` sentences; a sentence over budget is cut by words.
    """
    if max_words < 1 or overlap_sentences < 0:
        raise ValueError(f"max_words must be >= 1 and overlap_sentences >= 0 (got {max_words}, {overlap_sentences}).")
    groups: List[List[_Unit]] = []
    current: List[_Unit] = []
    for unit in _units(doc.text, max_words):
        words = sum(u.words for u in current)
        if current:
            fits = words + unit.words <= max_words
            same_paragraph = unit.paragraph == current[-1].paragraph
            if fits and (same_paragraph or words < max_words / 2):
                current.append(unit)
                continue
            groups.append(current)
            carry = [u for u in current[-overlap_sentences:] if u.paragraph == unit.paragraph] if overlap_sentences else []
            while carry and sum(u.words for u in carry) + unit.words > max_words:
                carry = carry[1:]
            current = carry
        current = current + [unit]
    if current:
        groups.append(current)
    return [
        Passage(
            id=f"{doc.id}#{n}",
            text=doc.text[group[0].start : group[-1].end],
            title=doc.title,
            path=doc.path,
            url=doc.url,
            start_char=group[0].start,
            end_char=group[-1].end,
            metadata=doc.metadata,
        )
        for n, group in enumerate(groups)
    ]


def _units(text: str, max_words: int) -> List[_Unit]:
    """Sentences of `text` (from spaCy's sentencizer, per paragraph), cut to the word budget."""
    chunks = [(start, end, p) for p, (s, e) in enumerate(_paragraphs(text)) for start, end in _chunks(text, s, e)]
    nlp = _sentencizer()
    units = []
    for (offset, _, paragraph), doc in zip(chunks, nlp.pipe(text[s:e] for s, e, _ in chunks)):
        for sent in doc.sents:
            words = [m.span() for m in WORD.finditer(text, offset + sent.start_char, offset + sent.end_char)]
            for i in range(0, len(words), max_words):
                piece = words[i : i + max_words]
                units.append(_Unit(piece[0][0], piece[-1][1], len(piece), paragraph))
    return units


def _paragraphs(text: str) -> List[Tuple[int, int]]:
    """(start, end) of each blank-line-separated paragraph, without surrounding whitespace."""
    spans, pos = [], 0
    for match in PARAGRAPH_BREAK.finditer(text):
        spans.append((pos, match.start()))
        pos = match.end()
    spans.append((pos, len(text)))
    out = []
    for start, end in spans:
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            out.append((start, end))
    return out


def _chunks(text: str, start: int, end: int) -> Iterator[Tuple[int, int]]:
    """Cut an over-long paragraph at whitespace into pieces the sentencizer accepts."""
    while end - start > MAX_CHUNK_CHARS:
        cut = text.rfind(" ", start, start + MAX_CHUNK_CHARS)
        cut = cut if cut > start else start + MAX_CHUNK_CHARS
        yield start, cut
        start = cut
    yield start, end


@functools.lru_cache(maxsize=1)
def _sentencizer() -> Language:
    """A blank English pipeline with the rule-based sentencizer, built once per process."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp
