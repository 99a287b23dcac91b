"""Answer boundaries kept on disk, so that a process reading passages read
before need not import spaCy (seconds) to find their tokens and sentences.

One SQLite file; a row per text, keyed by the hash of the text, the language
and the spaCy version (whose tokenizer made the boundaries). Boundaries are a
function of those alone, so a cached row gives exactly what spaCy would.
"""
import hashlib
import sqlite3
from importlib.metadata import version
from pathlib import Path
from typing import Dict, List, Sequence

import numpy

from .boundaries import AnswerBoundaries, answer_boundaries


class BoundaryCache:
    """`answer_boundaries` of texts, from the SQLite file at `path` when there, else computed and stored."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.spacy_version = version("spacy")

    def boundaries(self, texts: Sequence[str], lang: str) -> List[AnswerBoundaries]:
        keys = [self._key(t, lang) for t in texts]
        found = self._read(set(keys))
        new = {}
        for text, key in zip(texts, keys):
            if key not in found:
                found[key] = new[key] = answer_boundaries(text, lang)
        if new:
            self._write(new)
        return [found[k] for k in keys]

    def _key(self, text: str, lang: str) -> str:
        return hashlib.sha256(f"{lang}\0{self.spacy_version}\0{text}".encode("utf8")).hexdigest()

    def _read(self, keys: set) -> Dict[str, AnswerBoundaries]:
        if not self.path.exists():
            return {}
        try:
            with sqlite3.connect(self.path) as db:
                marks = ",".join("?" * len(keys))
                rows = db.execute(f"SELECT key, data FROM boundaries WHERE key IN ({marks})", list(keys)).fetchall()
        except sqlite3.Error:  # unreadable: compute them
            return {}
        return {key: _decode(data) for key, data in rows}

    def _write(self, found: Dict[str, AnswerBoundaries]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with sqlite3.connect(self.path, timeout=10) as db:
                db.execute("CREATE TABLE IF NOT EXISTS boundaries (key TEXT PRIMARY KEY, data BLOB)")
                db.executemany("INSERT OR REPLACE INTO boundaries VALUES (?, ?)",
                               [(key, _encode(b)) for key, b in found.items()])
        except (sqlite3.Error, OSError):  # a read-only or busy cache: next time computes them again
            pass


def _encode(b: AnswerBoundaries) -> bytes:
    """Token count, sentence count, then the three arrays, as int64."""
    head = numpy.array([len(b.token_starts), len(b.sentence_starts)], dtype="int64")
    return numpy.concatenate([head, b.token_starts, b.token_ends, b.sentence_starts]).astype("int64").tobytes()


def _decode(data: bytes) -> AnswerBoundaries:
    values = numpy.frombuffer(data, dtype="int64")
    tokens, sentences = int(values[0]), int(values[1])
    body = values[2:]
    return AnswerBoundaries(body[:tokens], body[tokens : 2 * tokens], body[2 * tokens : 2 * tokens + sentences])
