"""Moved to `spacy_spanqa.retrieval.bm25`; this name keeps old imports working (the same module object)."""
import sys

from .retrieval import bm25 as _moved

sys.modules[__name__] = _moved
