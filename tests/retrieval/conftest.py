"""Fixtures of the retrieval tests: the handbook knowledge base as a folder."""
import pytest

from .handbook import FILES


@pytest.fixture
def kb(tmp_path):
    folder = tmp_path / "kb"
    folder.mkdir()
    for name, text in FILES.items():
        (folder / name).write_text(text, encoding="utf8")
    return folder
