"""Retrieval: the knowledge base split into passages, and the backends that rank them for a question.

    protocol            Retriever (search_many, sync, describe) and SyncReport: the seam to everything above
    settings            every retrieval default, once: PassageSettings, IndexSettings, MilvusSettings, top-k
    location            what an `--index` value names (folder, `*.db`, server URL): open_retriever, sync_index
    documents           reading the folder: supported files, their hashes, parsers -> Document
    passages            cutting Documents into passages of whole sentences (spacy_spanqa.sentences)
    bm25                the folder index, BM25Index: incremental, atomic builds; load; search (bm25, dense, hybrid)
    encoder             SentenceEncoder: texts to unit vectors (all-MiniLM-L6-v2 by default), ONNX Runtime int8
    dense               the folder index's passage vectors: float16 on disk, exact dot-product top-k
    hybrid              BM25 and dense candidates fused into one ranking (FusionSettings)
    bm25_tokens         the one BM25 tokenisation (lowercase, Snowball stems, optional stopwords)
    bm25_store          the folder index's files on disk (builds, CURRENT, manifest)
    bm25s_backend,      the two scorers a folder index can use (bm25s, the default; rank-bm25)
    rank_bm25_backend
    milvus/             Milvus Lite or a Milvus server: client, schema (fields declared once), retriever

`open_retriever(index)` picks the backend from the `--index` value: a folder
(`BM25Index`: bm25s or rank-bm25), a `*.db` path (Milvus Lite) or an
http(s) URL (a Milvus server). Every backend is a `Retriever`.
"""
from .location import open_retriever, sync_index
from .protocol import Retriever, SyncReport
from .settings import IndexSettings, MilvusSettings, PassageSettings

__all__ = ["Retriever", "SyncReport", "open_retriever", "sync_index", "IndexSettings", "MilvusSettings", "PassageSettings"]
