"""Cutting documents into passages: whole sentences packed to a word budget, with exact offsets.

    split_passages(document)        a Document's passages (PassageSettings' defaults)
    source_passages(source, ...)    every passage of one knowledge base file
    passages_from_folder(folder)    every passage under a folder

Every passage is a verbatim slice of its document's extracted text
(`document.text[p.start_char:p.end_char] == p.text`), so an answer span found
in a passage maps back to exact characters of the source. Sentences come from
`spacy_spanqa.sentences`, the package's one sentence splitter.
"""
import re
from pathlib import Path
from typing import Iterator, List, NamedTuple, Tuple

from ..results import Passage
from ..sentences import sentencizer
from .documents import Document, SourceFile, load_documents
from .settings import PassageSettings

# Paragraphs longer than this are fed to the sentencizer in pieces (spaCy's max_length guard).
MAX_CHUNK_CHARS = 100_000
PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n\s*")
WORD = re.compile(r"\S+")


class _Unit(NamedTuple):
    """A sentence (or a budget-sized piece of one) as character offsets in its document."""

    start: int
    end: int
    words: int
    paragraph: int


def split_passages(doc: Document, max_words: int = PassageSettings.max_words,
                   overlap_sentences: int = PassageSettings.overlap_sentences) -> List[Passage]:
    """Pack whole sentences into passages of at most `max_words` words, with exact offsets.

    Paragraphs (blank-line breaks) start a new passage unless the current one
    is still under half the budget; consecutive passages of one paragraph
    share `overlap_sentences` sentences; a sentence over budget is cut by words.
    """
    PassageSettings(max_words=max_words, overlap_sentences=overlap_sentences)  # one clear error for bad values
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
            document_id=doc.id,
        )
        for n, group in enumerate(groups)
    ]


def _units(text: str, max_words: int) -> List[_Unit]:
    """Sentences of `text` (from spaCy's sentencizer, per paragraph), cut to the word budget."""
    chunks = [(start, end, p) for p, (s, e) in enumerate(_paragraphs(text)) for start, end in _chunks(text, s, e)]
    nlp = sentencizer()
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


def source_passages(source: SourceFile, settings: PassageSettings = PassageSettings()) -> List[Passage]:
    """The passages of every document in one knowledge base file, as every index stores them."""
    return [p for doc in source.documents() for p in split_passages(doc, settings.max_words, settings.overlap_sentences)]


def passages_from_folder(folder: Path, max_words: int = PassageSettings.max_words,
                         overlap_sentences: int = PassageSettings.overlap_sentences) -> Iterator[Passage]:
    """Yield the passages of every document under `folder`."""
    for doc in load_documents(folder):
        yield from split_passages(doc, max_words, overlap_sentences)
