"""Connecting to Milvus: the pymilvus client for a `.db` path (Milvus Lite) or a server URL,
the Lite engine's lifecycle (one process per database, released on close), gRPC keepalive,
and paging through a collection."""
import functools
import logging
import os
from pathlib import Path
from typing import Any, Dict, Iterable, List

from ..location import is_server_uri

INSTALL = 'install it with `pip install "spacy-spanqa[milvus]"`'
# Milvus Lite's Python gRPC server answers pymilvus's 10 s keepalive pings on an idle
# connection with GOAWAY "too_many_pings" (logged to stderr); it allows one per 5 minutes.
# `milvus-lite server` is the same server behind a URL, so every connection pings gently
# (a Milvus server accepts any interval; a broken connection still fails the next call).
KEEPALIVE = {"grpc.keepalive_time_ms": 600_000, "grpc.keepalive_permit_without_calls": False}
SCAN_BATCH = 2_000


def is_lite_uri(uri: str) -> bool:
    """True for a Milvus Lite database path (anything that is not a server URL)."""
    return not is_server_uri(uri)


def connect_client(uri: str, timeout: float):
    """A connected MilvusClient, or one sentence saying why there is none."""
    pymilvus = _import_pymilvus(uri)
    if is_lite_uri(uri):
        path = Path(uri)
        if not path.parent.is_dir():
            raise ValueError(f"The folder {path.parent} for the Milvus Lite database {uri} does not exist; create it first.")
        if path.exists() and not path.is_dir():
            raise ValueError(f"{uri} is a file, not a Milvus Lite database; give a new path ending in .db.")
        _check_lite_lock(path)
    try:
        return pymilvus.MilvusClient(uri=uri, timeout=timeout, grpc_options=KEEPALIVE)
    except pymilvus.exceptions.MilvusException as err:
        if is_lite_uri(uri):
            raise ValueError(f"Cannot open the Milvus Lite database {uri} ({err.message}); give a new path ending in .db.") from None
        raise ValueError(
            f"Cannot reach a Milvus server at {uri} ({err.message}); start it, or fix the URL given to --index."
        ) from None


def close_client(client, uri: str) -> None:
    """Disconnect; for a .db path also stop this process's Milvus Lite engine, so another process can open it."""
    client.close()
    if is_lite_uri(uri):
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(uri)


def scan(client, uri: str, collection: str, filter: str, fields: List[str]) -> Iterable[Dict[str, Any]]:
    """Every row matching `filter` (only `fields`), fetched page by page."""
    if is_lite_uri(uri):
        _quiet_lite_iterator_warning()
    iterator = client.query_iterator(collection, batch_size=SCAN_BATCH, filter=filter, output_fields=fields)
    try:
        while True:
            rows = iterator.next()
            if not rows:
                return
            yield from rows
    finally:
        iterator.close()


def _import_pymilvus(uri: str):
    try:
        import pymilvus
    except ImportError:
        raise ValueError(f"Milvus support is not installed; {INSTALL}.") from None
    if is_lite_uri(uri):
        try:
            import milvus_lite  # noqa: F401
        except ImportError:
            raise ValueError(f"Milvus Lite (for .db paths) is not installed; {INSTALL}.") from None
    return pymilvus


def _check_lite_lock(path: Path) -> None:
    """Milvus Lite lets one process open a .db; say so plainly when another process has it open."""
    from milvus_lite.server_manager import server_manager_instance

    if not (path / "LOCK").exists() or os.path.abspath(path) in getattr(server_manager_instance, "_servers", {}):
        return
    import fcntl

    with open(path / "LOCK", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ValueError(
                f"Another process has the Milvus Lite database {path} open (one process at a time); stop it, "
                "or serve the data to several processes with `milvus-lite server --data-dir DIR` and pass its URL."
            ) from None
        fcntl.flock(lock, fcntl.LOCK_UN)


class _NoSessionTimestampWarning(logging.Filter):
    """Milvus Lite has no MVCC timestamp for query iterators; pymilvus warns each time and then works."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("failed to get mvccTs")


@functools.lru_cache(maxsize=1)
def _quiet_lite_iterator_warning() -> None:
    logging.getLogger("pymilvus.client.iterator.query_iterator").addFilter(_NoSessionTimestampWarning())
