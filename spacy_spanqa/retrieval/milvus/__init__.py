"""Milvus as the retriever: BM25 full-text search in Milvus Lite (a `.db` path, in this process) or a Milvus server.

    retriever = MilvusRetriever.connect("kb.db", create=True)      # or "http://milvus:19530"
    retriever.sync("docs/")                                        # add, update, delete by content hash
    retriever.search_many(["How many vacation days do new hires get?"], 5)

Milvus turns the passage text into a sparse vector with its BM25 function and
ranks with `metric_type="BM25"`; the same client code runs against Milvus
Lite, a standalone server and a distributed cluster. Needs the `milvus` extra:
`pip install "spacy-spanqa[milvus]"`.

    client.py     connecting (a .db path or a URL), the Lite engine's lifecycle, keepalive, paging
    schema.py     the collection: its fields (declared once), analyzers, passages <-> rows
    retriever.py  MilvusRetriever: connect, search_many, sync, describe
"""
from ..location import is_milvus_uri
from ..settings import ANALYZERS, DEFAULT_COLLECTION, MilvusSettings
from .client import is_lite_uri
from .retriever import MilvusRetriever

__all__ = ["MilvusRetriever", "MilvusSettings", "ANALYZERS", "DEFAULT_COLLECTION", "is_lite_uri", "is_milvus_uri"]
