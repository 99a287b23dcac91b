"""Moved in 0.2 to `spacy_spanqa.retrieval.bm25`; names imported from here warn, and the path goes away in 0.4."""
from ._moved import moved

__getattr__ = moved(__name__, {"IndexSettings": "spacy_spanqa.retrieval.settings", "*": "spacy_spanqa.retrieval.bm25"})
