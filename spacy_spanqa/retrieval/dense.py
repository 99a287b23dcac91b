"""The folder index's passage vectors: float16 rows on disk, searched exactly by dot product.

Rows are unit vectors, so a dot product is the cosine similarity. Stored as
float16 (half the disk of float32; cosines move by < 1e-3); searched as float32,
converted once at load up to FLOAT32_IN_MEMORY (converting float16 costs twice the
dot product itself), beyond that in chunks, so memory stays bounded.
"""
from pathlib import Path
from typing import List, Sequence, Tuple

import numpy as np

VECTORS = "vectors.npy"  # one float16 row per passage, in passage order
CHUNK_ROWS = 32_768  # rows converted to float32 and multiplied at a time
FLOAT32_IN_MEMORY = 2 * 2**30  # bytes: ~1.4M passages of 384 dims are searched from a float32 copy in memory


def write_vectors(build: Path, vectors: np.ndarray) -> None:
    np.save(build / VECTORS, np.ascontiguousarray(vectors, dtype=np.float16))


def read_vectors(build: Path, mmap: bool = True) -> np.ndarray:
    """The stored vectors (memory-mapped unless `mmap` is False); OSError/ValueError when missing or broken."""
    vectors = np.load(build / VECTORS, mmap_mode="r" if mmap else None)
    if vectors.ndim != 2 or vectors.dtype != np.float16:
        raise ValueError(f"{build / VECTORS} holds {vectors.dtype} {vectors.shape}, not float16 rows")
    return vectors


def searchable(vectors: np.ndarray) -> np.ndarray:
    """The vectors as a search reads them fastest: a float32 copy when it fits FLOAT32_IN_MEMORY, else as stored."""
    if vectors.size * 4 <= FLOAT32_IN_MEMORY:
        return np.asarray(vectors, dtype=np.float32)
    return vectors


def top_k(vectors: np.ndarray, queries: np.ndarray, k: int) -> List[Tuple[np.ndarray, np.ndarray]]:
    """For each query vector, the rows of the `k` most similar passages and their cosines, best first."""
    k = min(k, len(vectors))
    best_rows = np.zeros((len(queries), 0), np.int64)
    best_scores = np.zeros((len(queries), 0), np.float32)
    for start in range(0, len(vectors), CHUNK_ROWS):
        scores = np.asarray(vectors[start : start + CHUNK_ROWS], dtype=np.float32) @ queries.T  # (rows, queries)
        keep = min(k, len(scores))
        part = np.argpartition(-scores, keep - 1, axis=0)[:keep].T  # (queries, keep)
        best_rows = np.concatenate([best_rows, part + start], axis=1)
        best_scores = np.concatenate([best_scores, np.take_along_axis(scores.T, part, axis=1)], axis=1)
        if best_rows.shape[1] > k:  # keep only the running top k
            cut = np.argpartition(-best_scores, k - 1, axis=1)[:, :k]
            best_rows = np.take_along_axis(best_rows, cut, axis=1)
            best_scores = np.take_along_axis(best_scores, cut, axis=1)
    order = np.argsort(-best_scores, axis=1, kind="stable")
    rows = np.take_along_axis(best_rows, order, axis=1)
    scores = np.take_along_axis(best_scores, order, axis=1)
    return list(zip(rows, scores))


def scores_of(vectors: np.ndarray, query: np.ndarray, rows: Sequence[int]) -> np.ndarray:
    """The cosines of one query with the passages at `rows`."""
    if len(rows) == 0:
        return np.zeros(0, np.float32)
    return np.asarray(vectors[np.asarray(rows, dtype=np.int64)], dtype=np.float32) @ query
