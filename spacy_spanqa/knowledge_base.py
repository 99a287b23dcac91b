"""Moved to `spacy_spanqa.retrieval.knowledge_base`; this name keeps old imports working (the same module object)."""
import sys

from .retrieval import knowledge_base as _moved

sys.modules[__name__] = _moved
