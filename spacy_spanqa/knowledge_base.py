"""Moved in 0.2 to `spacy_spanqa.retrieval`, and split in 0.3 into `retrieval.documents` and
`retrieval.passages`; names imported from here warn, and the path goes away in 0.4."""
from ._moved import moved
from .retrieval.knowledge_base import NEW_HOMES

__getattr__ = moved(__name__, NEW_HOMES)
