"""Milvus as the retriever: BM25 (and optionally a sentence encoder) in Milvus Lite (a `.db` path, in this
process) or a Milvus server or cluster.

    retriever = MilvusRetriever.connect("kb.db", create=True)      # or "http://milvus:19530"; mode="hybrid"
    retriever.sync("docs/")                                        # add, update, delete by content hash
    retriever.search_many(["How many vacation days do new hires get?"], 5)

spanqa computes the BM25 weights (so a synced file ranks as in a fresh build,
whatever segment Milvus keeps it in) and Milvus ranks them by inner product; a
"dense" or "hybrid" collection also holds each passage's sentence-encoder
vector, and hybrid search fuses both rankings with Milvus's RRF ranker. The
same client code runs against Milvus Lite, a standalone server and a cluster.
Needs the `milvus` extra: `pip install "spacy-spanqa[milvus]"`.

    client.py     connecting (a .db path or a URL), the Lite engine's lifecycle, keepalive, paging
    schema.py     the collection: its fields (declared once), creating and recognising it, passages <-> rows
    weights.py    BM25 by spanqa: term ids, document weights, per-file and corpus statistics, query weights
    stats.py      the statistics collection beside each collection, shared by every searcher
    retriever.py  MilvusRetriever: connect, search_many, sync, describe
"""
from ..location import is_milvus_uri
from ..settings import ANALYZERS, DEFAULT_COLLECTION, MilvusSettings
from .client import is_lite_uri
from .retriever import MilvusRetriever

__all__ = ["MilvusRetriever", "MilvusSettings", "ANALYZERS", "DEFAULT_COLLECTION", "is_lite_uri", "is_milvus_uri"]
