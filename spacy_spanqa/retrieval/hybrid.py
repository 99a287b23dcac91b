"""Hybrid ranking: BM25's and the sentence encoder's candidates fused into one list (see FusionSettings).

BM25 scores are divided by the query's best BM25 score (a passage outside
BM25's candidates counts 0); cosines are used as they are, computed exactly
for every candidate of either side.
"""
from typing import Callable, Sequence, Tuple

import numpy as np

from .settings import FusionSettings


def fuse(bm25: Tuple[np.ndarray, np.ndarray], dense: Tuple[np.ndarray, np.ndarray],
         cosines: Callable[[Sequence[int]], np.ndarray], k: int,
         settings: FusionSettings = FusionSettings()) -> Tuple[np.ndarray, np.ndarray]:
    """The `k` best (rows, fused scores) of one query from each side's (rows, scores), best first.

    cosines(rows): the query's cosine with the passages at `rows` (for BM25's candidates).
    """
    bm25_rows, bm25_scores = (np.asarray(a) for a in bm25)
    rows = np.union1d(bm25_rows, np.asarray(dense[0])).astype(np.int64)
    if len(rows) == 0:
        return rows, np.zeros(0, np.float32)
    lexical = np.zeros(len(rows), np.float32)
    best = float(bm25_scores.max()) if len(bm25_scores) else 0.0
    if best > 0:
        lexical[np.searchsorted(rows, bm25_rows)] = bm25_scores / best
    fused = settings.dense_weight * cosines(rows) + (1.0 - settings.dense_weight) * lexical
    order = np.argsort(-fused, kind="stable")[:k]
    return rows[order], fused[order].astype(np.float32)
