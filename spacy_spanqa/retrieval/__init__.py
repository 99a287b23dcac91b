"""Retrieval: the knowledge base split into passages, and the backends that rank them for a question.

`open_retriever(index)` picks the backend from the `--index` value: a folder
(`BM25Index`: bm25s or rank-bm25), a `*.db` path (Milvus Lite) or an
http(s) URL (a Milvus server). Every backend is a `Retriever`.
"""
from .location import open_retriever, sync_index
from .protocol import Retriever, SyncReport

__all__ = ["Retriever", "SyncReport", "open_retriever", "sync_index"]
