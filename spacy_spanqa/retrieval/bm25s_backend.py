"""The default BM25 backend: bm25s (Lucene BM25, scores precomputed in a sparse matrix, mmap-able)."""
from pathlib import Path
from typing import List, Sequence, Tuple

import bm25s
import numpy as np

from .bm25_tokens import TokenLists

FOLDER = "bm25s"


class BM25sScorer:
    """Top-k passages for token-id queries, from a bm25s index saved as .npy arrays."""

    name = "bm25s"

    def __init__(self, retriever: bm25s.BM25):
        self.retriever = retriever

    @classmethod
    def build(cls, corpus: TokenLists, vocab: Sequence[str], k1: float, b: float, progress: bool) -> "BM25sScorer":
        retriever = bm25s.BM25(k1=k1, b=b)
        # bm25s.BM25.index() wants a list of lists; its own low-level step takes any
        # sequence, so the lazy TokenLists never materialise 1M Python lists.
        retriever.scores = retriever.build_index_from_ids(
            unique_token_ids=list(range(len(vocab))), corpus_token_ids=corpus, show_progress=progress
        )
        retriever.vocab_dict = {token: i for i, token in enumerate(vocab)}
        retriever.unique_token_ids_set = set(retriever.vocab_dict.values())
        return cls(retriever)

    def save(self, folder: Path) -> None:
        self.retriever.save(str(folder / FOLDER), show_progress=False)

    @classmethod
    def load(cls, folder: Path, mmap: bool) -> "BM25sScorer":
        return cls(bm25s.BM25.load(str(folder / FOLDER), mmap=mmap, show_progress=False))

    def __len__(self) -> int:
        return int(self.retriever.scores["num_docs"])

    def top_k(self, queries: List[List[int]], k: int) -> List[Tuple[np.ndarray, np.ndarray]]:
        """(passage indices, scores) best first for each non-empty query of token ids."""
        found = self.retriever.retrieve(queries, k=k, show_progress=False, n_threads=0)
        return list(zip(found.documents, found.scores))
