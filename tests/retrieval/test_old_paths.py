"""Import paths from before 0.3 keep working for one release, with a DeprecationWarning."""
import importlib

import pytest

from spacy_spanqa.retrieval.bm25 import BM25Index
from spacy_spanqa.retrieval.documents import Document, load_documents
from spacy_spanqa.retrieval.passages import split_passages


@pytest.mark.parametrize("old, name, new", [
    ("spacy_spanqa.bm25", "BM25Index", BM25Index),
    ("spacy_spanqa.knowledge_base", "Document", Document),
    ("spacy_spanqa.knowledge_base", "load_documents", load_documents),
    ("spacy_spanqa.knowledge_base", "split_passages", split_passages),
    ("spacy_spanqa.retrieval.knowledge_base", "split_passages", split_passages),
    ("spacy_spanqa.retrieval.knowledge_base", "Document", Document),
])
def test_old_path_gives_the_same_object_and_warns(old, name, new):
    module = importlib.import_module(old)
    with pytest.warns(DeprecationWarning, match=rf"{old}\.{name} moved to .*; the old path goes away in spacy-spanqa 0\.4"):
        assert getattr(module, name) is new
