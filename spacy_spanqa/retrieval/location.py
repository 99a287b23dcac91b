"""What an `--index` value names, and the retriever behind it.

    a folder             the embedded BM25 index (bm25s, or rank-bm25)    BM25Index
    a path ending .db    Milvus Lite, in this process                     MilvusRetriever
    http(s)://host:port  a Milvus server or cluster                       MilvusRetriever

the same values `pymilvus.MilvusClient(uri=...)` takes, plus the folder.
"""
import os
import re
from pathlib import Path
from typing import Any, Optional, Union

from .protocol import Retriever
from .settings import DEFAULT_COLLECTION, BM25Settings

IndexLike = Union[str, os.PathLike, Retriever]
SERVER_URL = re.compile(r"^(https?|tcp)://")


def is_server_uri(index: Union[str, os.PathLike]) -> bool:
    """True for the URL of a Milvus server or cluster (http://, https:// or tcp://)."""
    return SERVER_URL.match(str(index)) is not None


def is_milvus_uri(index: Union[str, os.PathLike]) -> bool:
    """True for what pymilvus.MilvusClient(uri=...) opens: a `*.db` path (Milvus Lite) or a server URL."""
    return str(index).endswith(".db") or is_server_uri(index)


def check_index(index: IndexLike) -> None:
    """Refuse, without loading anything, an index that names no folder, `.db` file or server.

    A missing `.db` path is not an error here: Milvus Lite creates it, and
    `MilvusRetriever.connect` says when its collection is missing."""
    if hasattr(index, "search_many") or is_milvus_uri(index):
        return
    if not Path(index).is_dir():
        raise ValueError(f"No index at {index}; build it with `spanqa index FOLDER --index {index}`.")


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


def stored_settings(index: Union[str, os.PathLike], collection: str = DEFAULT_COLLECTION) -> Optional[BM25Settings]:
    """The settings the index `index` names was made with (mode and encoder included), or None when
    there is none yet or it cannot be read: what a sync without new settings keeps."""
    if is_milvus_uri(index):
        from .milvus import MilvusRetriever

        try:
            retriever = MilvusRetriever.connect(str(index), collection)
        except ValueError:  # no such collection (yet), or not spanqa's: the sync says which
            return None
        try:
            return retriever.settings
        finally:
            retriever.close()
    from . import bm25_store

    build = bm25_store.live_build(Path(index))
    try:
        return bm25_store.read_settings(bm25_store.read_manifest(build)) if build else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def sync_index(folder: Union[str, os.PathLike], index: Union[str, os.PathLike], collection: str = DEFAULT_COLLECTION,
               progress: bool = False, settings: Optional[BM25Settings] = None, **overrides: Any) -> Retriever:
    """Create or update the index `index` names from the knowledge base `folder`; returns it, with `.report` set.

    settings: `IndexSettings` for a folder index, `MilvusSettings` for Milvus
    (default: their defaults); `overrides` are any of their fields by name
    (k1=1.2, stopwords=True, analyzer="standard", ...) applied on top.
    """
    if is_milvus_uri(index):
        from .milvus import MilvusRetriever

        mode = overrides.get("mode", settings.mode if settings is not None else "bm25")
        if mode not in getattr(MilvusRetriever, "modes", ("bm25",)):  # a backend lists the modes it can rank by
            raise ValueError(f"Milvus indexes do not rank by {mode!r} yet; index a folder for {mode} retrieval "
                             f"(`spanqa index FOLDER --index my.idx --{mode}`).")
        retriever = MilvusRetriever.connect(str(index), collection, create=True, settings=settings, **overrides)
        retriever.report = retriever.sync(folder, progress=progress)
        return retriever
    from .bm25 import BM25Index

    return BM25Index.build(folder, index, settings, progress=progress, **overrides)
