"""What an `--index` value names, and the retriever behind it.

    a folder             the embedded BM25 index (bm25s, or rank-bm25)    BM25Index
    a path ending .db    Milvus Lite, in this process                     MilvusRetriever
    http(s)://host:port  a Milvus server or cluster                       MilvusRetriever

the same values `pymilvus.MilvusClient(uri=...)` takes, plus the folder.
"""
import os
from pathlib import Path
from typing import Any, Union

from .milvus import DEFAULT_COLLECTION, is_milvus_uri
from .protocol import Retriever

IndexLike = Union[str, os.PathLike, Retriever]


def open_retriever(index: IndexLike, collection: str = DEFAULT_COLLECTION) -> Retriever:
    """The retriever `index` names (see the module docstring); a retriever object is returned as is.

    `collection` names the Milvus collection; a folder index has none.
    """
    if hasattr(index, "search_many"):
        return index
    if is_milvus_uri(index):
        from .milvus import MilvusRetriever

        return MilvusRetriever.connect(str(index), collection)
    from .bm25 import BM25Index

    return BM25Index.load(Path(index))


def sync_index(folder: Union[str, os.PathLike], index: Union[str, os.PathLike], collection: str = DEFAULT_COLLECTION,
               progress: bool = False, **settings: Any) -> Retriever:
    """Create or update the index `index` names from the knowledge base `folder`; returns it, with `.report` set.

    settings: for a folder index, `BM25Index.build`'s (backend, k1, b, stemming,
    stopwords, max_words); for Milvus, `MilvusRetriever.connect`'s (analyzer,
    k1, b, max_words). Only settings that differ from the defaults need passing.
    """
    if is_milvus_uri(index):
        from .milvus import MilvusRetriever

        retriever = MilvusRetriever.connect(str(index), collection, create=True, **settings)
        retriever.report = retriever.sync(folder, progress=progress)
        return retriever
    from .bm25 import BM25Index

    return BM25Index.build(folder, index, progress=progress, **settings)
