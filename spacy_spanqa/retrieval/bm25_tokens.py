"""One tokenisation for every BM25 backend: lowercase Unicode words, optionally without English
stopwords, Snowball stems.

Passages and queries go through the same bm25s tokenizer with the same
settings (defaults: `IndexSettings`'), so every backend scores identical tokens.
"""
import functools
import itertools
import threading
from collections.abc import Sequence as SequenceABC
from typing import Dict, Iterator, List, Sequence, Tuple

import bm25s
import numpy as np

from .settings import IndexSettings

TOKEN_PATTERN = r"(?u)\b\w+\b"
_STEMMER_LOCK = threading.Lock()  # one shared Snowball stemmer; its C state is not thread-safe


@functools.lru_cache(maxsize=1)
def _english_stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def _options(stemming: bool, stopwords: bool) -> dict:
    return dict(
        lower=True,
        token_pattern=TOKEN_PATTERN,
        stopwords="en" if stopwords else None,
        stemmer=_english_stemmer() if stemming else None,
    )


def tokenize_texts(texts: Sequence[str], stemming: bool = IndexSettings.stemming,
                   stopwords: bool = IndexSettings.stopwords) -> Tuple[np.ndarray, np.ndarray, List[str]]:
    """Tokens of `texts` as (flat token ids, per-text lengths, vocabulary by id)."""
    with _STEMMER_LOCK:
        tokenized = bm25s.tokenize(list(texts), return_ids=True, show_progress=False, **_options(stemming, stopwords))
    vocab = [""] * len(tokenized.vocab)
    for token, i in tokenized.vocab.items():
        vocab[i] = token
    lengths = np.fromiter((len(ids) for ids in tokenized.ids), dtype=np.int64, count=len(tokenized.ids))
    flat = np.fromiter(itertools.chain.from_iterable(tokenized.ids), dtype=np.int64, count=int(lengths.sum()))
    return flat, lengths, vocab


def tokenize_queries(queries: Sequence[str], stemming: bool = IndexSettings.stemming,
                     stopwords: bool = IndexSettings.stopwords) -> List[List[str]]:
    """Tokens of each query, as strings to look up in an index's vocabulary."""
    if not queries:
        return []
    with _STEMMER_LOCK:
        return bm25s.tokenize(list(queries), return_ids=False, show_progress=False, **_options(stemming, stopwords))


class Vocabulary:
    """One token -> id map grown from several tokenised batches, each remapped into it."""

    def __init__(self) -> None:
        self.ids: Dict[str, int] = {}

    def remap(self, tokens_by_id: Sequence[str]) -> np.ndarray:
        """Array turning a batch's ids (positions in `tokens_by_id`) into ids of this vocabulary."""
        return np.fromiter(
            (self.ids.setdefault(t, len(self.ids)) for t in tokens_by_id), dtype=np.int64, count=len(tokens_by_id)
        )

    def compact(self, flat: np.ndarray) -> Tuple[np.ndarray, List[str]]:
        """Drop tokens no passage uses any more: dense ids 0..V-1, as BM25 matrices need."""
        by_id = list(self.ids)
        used = np.unique(flat)
        new_id = np.full(len(by_id), -1, dtype=np.int64)
        new_id[used] = np.arange(len(used))
        return new_id[flat], [by_id[i] for i in used]


class TokenLists(SequenceABC):
    """Per-passage token id lists sliced lazily from one flat array (1M passages stay small)."""

    def __init__(self, flat: np.ndarray, offsets: np.ndarray):
        self.flat = flat
        self.offsets = offsets

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> List[int]:
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        i %= len(self)
        return self.flat[self.offsets[i] : self.offsets[i + 1]].tolist()

    def __iter__(self) -> Iterator[List[int]]:
        for start, end in zip(self.offsets[:-1].tolist(), self.offsets[1:].tolist()):
            yield self.flat[start:end].tolist()
