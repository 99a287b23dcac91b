"""Fixtures every area may use: tiny QA models built in code. torch is imported
only when a test asks for one, so retrieval, squad and bot tests never load it."""
from pathlib import Path

import pytest

from tests.tiny_models import build_tiny_bert, make_nlp


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture
def tiny_nlp(tiny_model_dir):
    return make_nlp(tiny_model_dir, max_seq_length=64, doc_stride=16)
