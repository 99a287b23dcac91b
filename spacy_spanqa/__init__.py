"""spacy-spanqa: extractive question answering for spaCy pipelines.

Names are imported on first use, so `spanqa index` and the Slack bot's start
do not pay for torch before they need the reader. spaCy finds the component,
architecture, reader and scorer through entry points.
"""
import importlib

__version__ = "0.4.0"  # the package version: pyproject.toml reads it from here

_EXPORTS = {
    "Answer": "results",
    "Passage": "results",
    "QAResult": "results",
    "RetrievedPassage": "results",
    "Answerer": "results",
    "SpanQA": "reader.component",
    "make_span_qa": "reader.component",
    "HFQuestionAnswering": "reader.model",
    "read_squad": "squad.format",
    "write_squad": "squad.format",
    "squad_evaluate": "squad.metric",
    "create_squad_reader": "reader.corpus",
    "make_qa_scorer": "reader.scorer",
    "ensure_extensions": "reader.extensions",
    "Document": "retrieval.documents",
    "Retriever": "retrieval.protocol",
    "SyncReport": "retrieval.protocol",
    "open_retriever": "retrieval.location",
    "sync_index": "retrieval.location",
    "BM25Index": "retrieval.bm25",
    "MilvusRetriever": "retrieval.milvus",
    "QuestionAnswerer": "qa",
    "load_reader": "reader.loading",
}
__all__ = list(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'spacy_spanqa' has no attribute {name!r}")
