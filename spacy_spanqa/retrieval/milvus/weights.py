"""BM25 computed by spanqa for Milvus: term ids, document weights, per-file and corpus statistics, query weights.

A passage's row holds its BM25 term weights (tf saturation and length
normalisation, the Lucene form bm25s uses); the IDF is applied to the query
from document frequencies summed over the collection's files, and Milvus ranks
by inner product. So a score is the folder index's BM25 score, whatever segment
or shard a row sits in (Milvus Lite computes its own BM25 per segment).
"""
import hashlib
import math
from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Tuple

import numpy as np

from ..bm25_tokens import tokenize_queries, tokenize_texts

# Milvus sparse indices are uint32 below 2**32 - 1; the top one marks a passage without words
# (Milvus refuses an all-zero sparse vector), which no query term ever hashes to.
NO_WORDS = 2**32 - 2
TERM_IDS = NO_WORDS


def term_id(token: str) -> int:
    """The sparse dimension of a token: a stable 32-bit hash (a collision merges two rare terms' counts)."""
    return int.from_bytes(hashlib.blake2b(token.encode("utf8"), digest_size=4).digest(), "little") % TERM_IDS


@dataclass
class Tokens:
    """Passages as term ids: one flat array and each passage's length."""

    flat: np.ndarray
    lengths: np.ndarray

    @classmethod
    def of(cls, texts: Sequence[str], stemming: bool, stopwords: bool) -> "Tokens":
        flat, lengths, vocab = tokenize_texts(texts, stemming=stemming, stopwords=stopwords)
        ids = np.fromiter((term_id(t) for t in vocab), dtype=np.int64, count=len(vocab))
        return cls(ids[flat] if len(flat) else np.zeros(0, dtype=np.int64), lengths)

    def split(self, counts: Sequence[int]) -> List["Tokens"]:
        """Consecutive groups of `counts` passages each (a batch's files)."""
        offsets = np.concatenate([[0], np.cumsum(self.lengths)])
        groups, first = [], 0
        for n in counts:
            groups.append(Tokens(self.flat[offsets[first] : offsets[first + n]], self.lengths[first : first + n]))
            first += n
        return groups

    def passages(self):
        """(term ids, counts) of each passage."""
        start = 0
        for n in self.lengths.tolist():
            yield np.unique(self.flat[start : start + n], return_counts=True)
            start += n


def document_vectors(tokens: Tokens, k1: float, b: float, avgdl: float) -> List[Dict[int, float]]:
    """Each passage's sparse vector: tf / (tf + k1 (1 - b + b dl / avgdl)) per term."""
    vectors = []
    for (ids, tf), dl in zip(tokens.passages(), tokens.lengths.tolist()):
        if not len(ids):
            vectors.append({NO_WORDS: 1.0})
            continue
        weights = tf / (tf + k1 * (1 - b + b * dl / max(avgdl, 1e-9)))
        vectors.append(dict(zip(ids.tolist(), weights.tolist())))
    return vectors


@dataclass
class FileStats:
    """What one stored file version adds to the corpus statistics, and the avgdl its rows were weighted with."""

    terms: np.ndarray  # term ids
    df: np.ndarray  # passages of the file containing each term
    passages: int
    tokens: int
    avgdl: float

    @classmethod
    def of(cls, tokens: Tokens, avgdl: float) -> "FileStats":
        present = [ids for ids, _ in tokens.passages()]
        terms, df = np.unique(np.concatenate(present), return_counts=True) if present else (np.zeros(0, np.int64),) * 2
        return cls(terms.astype(np.int64), df.astype(np.int64), len(tokens.lengths), int(tokens.lengths.sum()), avgdl)

    def sparse(self) -> Dict[int, float]:
        """The document frequencies as a sparse vector row (Milvus wants one non-zero weight at least)."""
        return dict(zip(self.terms.tolist(), self.df.astype(float).tolist())) or {NO_WORDS: 1.0}

    @classmethod
    def from_sparse(cls, vector: Dict[int, float], passages: int, tokens: int, avgdl: float) -> "FileStats":
        terms = np.fromiter(vector.keys(), dtype=np.int64, count=len(vector))
        df = np.rint(np.fromiter(vector.values(), dtype=np.float64, count=len(vector))).astype(np.int64)
        keep = terms != NO_WORDS
        return cls(terms[keep], df[keep], passages, tokens, avgdl)


@dataclass
class CorpusStats:
    """Document frequencies, passage and token counts summed over a collection's stored file versions."""

    files: Dict[str, FileStats] = field(default_factory=dict)  # by file version
    df: Dict[int, int] = field(default_factory=dict)
    passages: int = 0
    tokens: int = 0

    @property
    def avgdl(self) -> float:
        return self.tokens / self.passages if self.passages else 0.0

    def add(self, version: str, stats: FileStats) -> None:
        self.remove(version)
        self.files[version] = stats
        self._count(stats, +1)

    def remove(self, version: str) -> None:
        stats = self.files.pop(version, None)
        if stats is not None:
            self._count(stats, -1)

    def _count(self, stats: FileStats, sign: int) -> None:
        df = self.df
        for t, c in zip(stats.terms.tolist(), stats.df.tolist()):
            n = df.get(t, 0) + sign * c
            if n > 0:
                df[t] = n
            else:
                df.pop(t, None)
        self.passages += sign * stats.passages
        self.tokens += sign * stats.tokens

    def idf(self, term: int) -> float:
        """Lucene's IDF, as bm25s computes it: log(1 + (N - df + 0.5) / (df + 0.5))."""
        df = self.df.get(term, 0)
        return math.log(1 + (self.passages - df + 0.5) / (df + 0.5))


def query_vectors(queries: Sequence[str], stats: CorpusStats, stemming: bool, stopwords: bool) -> List[Dict[int, float]]:
    """Each query's sparse vector: the IDF of each of its terms the collection holds, once per occurrence."""
    vectors = []
    for tokens in tokenize_queries(list(queries), stemming=stemming, stopwords=stopwords):
        vector: Dict[int, float] = {}
        for token in tokens:
            t = term_id(token)
            if t in stats.df:
                vector[t] = vector.get(t, 0.0) + stats.idf(t)
        vectors.append(vector)
    return vectors


def analysis(analyzer: str, stopwords: bool) -> Tuple[bool, bool]:
    """(stemming, stopwords) of spanqa's tokeniser for a collection's analyzer name."""
    if analyzer == "english":
        return True, True
    return analyzer == "snowball", stopwords
