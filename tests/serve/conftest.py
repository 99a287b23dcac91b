"""Serve fixtures: the app over a FakeAnswerer and a fresh database, on 127.0.0.1."""
import pytest

from tests.serve.running import serve_app

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("sqlalchemy")

TOKEN = "s3cret-test-token"


@pytest.fixture
def store(tmp_path):
    from spacy_spanqa.bot.store import BotStore

    store = BotStore(tmp_path / "feedback.sqlite")
    yield store
    store.close()


@pytest.fixture
def fake():
    from tests.bot.fakes import FakeAnswerer

    return FakeAnswerer()


@pytest.fixture
def server(fake, store):
    """The app over a FakeAnswerer, no token (as on loopback); `.url`."""
    running = serve_app(fake, store, documents=["handbook/leave.md", "handbook/expenses.md", "handbook/unused.md"])
    yield running
    running.close()


@pytest.fixture
def token_server(fake, store):
    """The app over a FakeAnswerer that requires TOKEN."""
    running = serve_app(fake, store, token=TOKEN)
    yield running
    running.close()
