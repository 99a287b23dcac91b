"""The seam between retrieval and everything above it: what a retriever does, whatever stores the passages."""
import os
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Protocol, Sequence, Tuple, Union, runtime_checkable

from ..results import Passage
from .settings import DEFAULT_TOP_K


@dataclass
class SyncReport:
    """What a sync did with the knowledge base's files (paths relative to the folder)."""

    read: List[str] = field(default_factory=list)  # added or changed: parsed and (re)indexed
    reused: List[str] = field(default_factory=list)  # unchanged: cost a hash, nothing else
    removed: List[str] = field(default_factory=list)  # gone from the folder: their passages deleted
    full_rebuild: bool = True

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


@runtime_checkable
class Retriever(Protocol):
    """Ranks the passages of a knowledge base for questions.

    Backends: `BM25Index` (bm25s or rank-bm25, in a folder; BM25, dense or
    hybrid) and `MilvusRetriever` (Milvus Lite in a `.db` file, or a Milvus server).
    """

    def search_many(self, queries: Sequence[str], top_k: int = DEFAULT_TOP_K) -> List[List[Tuple[Passage, float]]]:
        """For each query, up to `top_k` (passage, score) pairs, best first: the BM25 score, the cosine
        ("dense") or the fused score ("hybrid"), whichever the index ranks by."""
        ...

    def sync(self, folder: Union[str, os.PathLike], progress: bool = False) -> SyncReport:
        """Make the index hold exactly the folder's passages: add, update and delete files by content hash.

        A sync killed part-way leaves a searchable index; running it again converges.
        """
        ...

    def __len__(self) -> int:
        """Passages in the index."""
        ...

    def describe(self) -> Dict[str, Any]:
        """Backend, location, size and settings, for `--json` output and logs."""
        ...
