"""The compatible BM25 backend: rank_bm25.BM25Okapi (pure Python reference), saved by pickling.

Same tokens, k1 and b as bm25s; the idf differs slightly (Okapi's
log((N-n+0.5)/(n+0.5)) with an epsilon floor, where bm25s uses Lucene's
log(1+...)), so rankings agree except for terms in most passages.
"""
import pickle
from pathlib import Path
from typing import List, Sequence, Tuple

import numpy as np
from rank_bm25 import BM25Okapi
from tqdm import tqdm

from .bm25_tokens import TokenLists

FILE = "rank_bm25.pkl"


class RankBM25Scorer:
    """Top-k passages for token-id queries, scored by rank_bm25.BM25Okapi."""

    name = "rank-bm25"

    def __init__(self, okapi: BM25Okapi):
        self.okapi = okapi

    @classmethod
    def build(cls, corpus: TokenLists, vocab: Sequence[str], k1: float, b: float, progress: bool) -> "RankBM25Scorer":
        passages = tqdm(corpus, desc="rank-bm25 index", unit="passage", disable=not progress, leave=False)
        return cls(BM25Okapi(passages, k1=k1, b=b))

    def save(self, folder: Path) -> None:
        with open(folder / FILE, "wb") as f:
            pickle.dump(self.okapi, f, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def load(cls, folder: Path, mmap: bool) -> "RankBM25Scorer":
        """Unpickle the scorer (mmap does not apply); only load indexes you built yourself."""
        with open(folder / FILE, "rb") as f:
            okapi = pickle.load(f)
        if not isinstance(okapi, BM25Okapi):
            raise ValueError(f"{folder / FILE} does not hold a rank_bm25.BM25Okapi object")
        return cls(okapi)

    def __len__(self) -> int:
        return int(self.okapi.corpus_size)

    def top_k(self, queries: List[List[int]], k: int) -> List[Tuple[np.ndarray, np.ndarray]]:
        """(passage indices, scores) best first for each non-empty query of token ids."""
        results = []
        for query in queries:
            scores = self.okapi.get_scores(query)
            best = np.argpartition(-scores, k - 1)[:k]
            best = best[np.argsort(-scores[best], kind="stable")]
            results.append((best, scores[best]))
        return results
