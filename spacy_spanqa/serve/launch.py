"""Starting `spanqa serve`, apart from the command line.

`check_options` refuses bad options before anything heavy loads (an address
beyond loopback without a token first); `serve` opens the database, loads the
answerer, builds the app and runs it with uvicorn. Errors a user can cause
are `ServeError`s: one sentence, which `spanqa` prints.
"""
import importlib.util
import logging
import socket
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Optional, Union

from ..retrieval.location import check_index, is_milvus_uri, is_server_uri
from ..retrieval.settings import DEFAULT_COLLECTION, DEFAULT_TOP_K
from .security import host_refusal
from .settings import DEFAULT_HOST, DEFAULT_MAX_BATCH, DEFAULT_PORT

logger = logging.getLogger("spacy_spanqa.serve")
NEEDED = ("fastapi", "uvicorn", "sqlalchemy")


class ServeError(ValueError):
    """Why the server cannot start, in one sentence."""


@dataclass
class ServeOptions:
    """What `spanqa serve` runs with (the index's answerer is loaded from these)."""

    index: Optional[str]  # a BM25 index folder, a Milvus Lite .db path or a Milvus server URL; None: the example KB
    model: Optional[str] = None
    runtime: Optional[str] = None
    top_k: int = DEFAULT_TOP_K
    collection: str = DEFAULT_COLLECTION
    database: Optional[str] = None  # None: feedback.sqlite next to the index
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    token: Optional[str] = None
    batch_size: int = DEFAULT_MAX_BATCH
    log_level: str = "info"

    @property
    def database_location(self) -> Union[str, Path]:
        from ..bot.store import default_database_path

        return self.database or default_database_path(self.index)


def check_options(options: ServeOptions) -> None:
    """Raise ServeError for the first problem, loading nothing heavy."""
    refusal = host_refusal(options.host, options.token)
    if refusal:
        raise ServeError(refusal)
    missing = [m for m in NEEDED if importlib.util.find_spec(m) is None]
    if missing:
        raise ServeError(f'spanqa serve needs {" and ".join(missing)}: pip install "spacy-spanqa[serve]".')
    if options.log_level.lower() not in ("critical", "error", "warning", "info", "debug"):
        raise ServeError(f"Unknown --log-level {options.log_level!r}; use debug, info, warning or error.")
    if options.runtime is not None:
        from ..reader.runtime import check_runtime  # no torch

        check_runtime(options.runtime)
    if options.index is not None:
        check_index(options.index)
    if options.index is not None and is_server_uri(options.index) and options.database is None:
        raise ServeError("With a Milvus server URL as --index, give --database (a SQLite file or a PostgreSQL URL) "
                         "for the answers and feedback.")
    _check_port_free(options.host, options.port)


def _check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as error:
            raise ServeError(f"Cannot listen on {host}:{port} ({error.strerror or error}); pick another --port or --host.") from None


def serve(options: ServeOptions, example_index: Optional[Callable[[], object]] = None) -> None:
    """Open the database, load the answerer, then serve until Ctrl-C or SIGTERM.
    Without --index, `example_index()` builds the example knowledge base's index (it has a `.path`)."""
    import uvicorn

    from ..bot.store import BotStore, DatabaseError
    from .app import create_app
    from .insights import documents_in_index

    logging.basicConfig(level=options.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if options.index is None:
        if example_index is None:
            raise ServeError("--index is required: pass the index built by `spanqa index`, or set SPANQA_INDEX.")
        options = replace(options, index=str(example_index().path))
    try:
        store = BotStore(options.database_location)
    except DatabaseError as error:
        raise ServeError(str(error)) from None
    try:
        answerer = load_answerer(options)
        app = create_app(answerer, store, token=options.token, documents=documents_in_index(str(options.index)),
                         max_batch=options.batch_size, close_store=True)
    except BaseException:
        store.close()
        raise
    logger.info("Answering from %s; answers and feedback go to %s", options.index, store.name)
    where = f"[{options.host}]" if ":" in options.host else options.host
    logger.info("Open http://%s:%d/ to ask, /docs for the API", where, options.port)
    uvicorn.run(app, host=options.host, port=options.port, log_level=options.log_level.lower())


def load_answerer(options: ServeOptions):
    """The `QuestionAnswerer` the options name (loads torch: after the cheap checks)."""
    from ..qa import QuestionAnswerer

    milvus = {"collection": options.collection} if is_milvus_uri(str(options.index)) else {}
    try:
        return QuestionAnswerer(options.index, model=options.model, top_k=options.top_k, runtime=options.runtime, **milvus)
    except OSError as error:
        raise ServeError(f"Could not load the index or model: {error}.") from None
