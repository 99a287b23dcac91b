"""Command-line options that `spanqa` and `spanqa-bot` share, declared once.

Only typer here (no torch, no spaCy), so either command checks its arguments
before anything heavy is imported.
"""
import typer

from .retrieval.settings import DEFAULT_COLLECTION, DEFAULT_TOP_K
from .serve.settings import TOKEN_ENV

INDEX_HELP = (
    "a folder (the embedded BM25 index), a path ending in .db (Milvus Lite, in this process) "
    "or http(s)://host:port (a Milvus server)"
)
RUNTIMES_HELP = (
    "Reader on CPU: torch, onnx (float32 ONNX Runtime, same answers) or int8 (ONNX Runtime int8: "
    "faster, ~1 F1 lower)."
)


def index_option(required: bool = False, help: str = f"Index from `spanqa index`: {INDEX_HELP}."):
    return typer.Option(... if required else None, "--index", "-i", envvar="SPANQA_INDEX", help=help)


def model_option():
    return typer.Option(
        None, "--model", "-m", envvar="SPANQA_MODEL",
        help="Reader: pipeline directory, installed pipeline package or Hugging Face QA checkpoint "
        "(default: the reader shipped with spacy-spanqa).",
    )


def runtime_option(default: str = "the pipeline's setting"):
    """--runtime; `default` says what runs without it (spanqa ask: ONNX Runtime for a saved pipeline)."""
    return typer.Option(None, "--runtime", envvar="SPANQA_RUNTIME", help=f"{RUNTIMES_HELP} Default: {default}.")


def top_k_option():
    return typer.Option(DEFAULT_TOP_K, "--top-k", "-k", min=1, help="Passages retrieved and read per question.")


def collection_option():
    return typer.Option(
        DEFAULT_COLLECTION, "--collection", envvar="SPANQA_COLLECTION",
        help="Milvus collection (when --index is a .db path or a server URL).",
    )


def database_option():
    return typer.Option(
        None, "--database", "--feedback-db", envvar="SPANQA_DATABASE",
        help="Answers, votes and thread context: a SQLite file (default: feedback.sqlite next to the index) "
        "or a URL (postgresql://user:password@host/db).",
    )


def token_option():
    return typer.Option(
        None, "--token", envvar=TOKEN_ENV, show_default=False,
        help="API token clients send as `Authorization: Bearer TOKEN`; required with any --host but loopback.",
    )
