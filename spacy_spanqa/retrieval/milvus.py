"""Milvus as the retriever: BM25 full-text search in Milvus Lite (a `.db` path, in this process) or a Milvus server.

    retriever = MilvusRetriever.connect("kb.db", create=True)      # or "http://milvus:19530"
    retriever.sync("docs/")                                        # add, update, delete by content hash
    retriever.search_many(["How many vacation days do new hires get?"], 5)

Milvus turns the passage text into a sparse vector with its BM25 function and
ranks with `metric_type="BM25"`; the same client code runs against Milvus
Lite, a standalone server and a distributed cluster. Needs the `milvus` extra:
`pip install "spacy-spanqa[milvus]"`.

How a sync stays safe when killed: every row carries its file's content hash
and passage count, and a file's last row is written only after all its other
rows (`closes_source`). A file version counts as stored once its closing row
exists; other versions of the file are deleted after that. Rows of a version
that never closed are found (the row count disagrees with the closing rows'
counts) and deleted on the next sync.
"""
import functools
import hashlib
import json
import logging
import os
import re
from pathlib import Path
from typing import Any, Dict, Iterable, List, Sequence, Tuple, Union

from bm25s.stopwords import STOPWORDS_EN

from ..results import Passage
from . import knowledge_base
from .bm25_tokens import tokenize_queries, tokenize_texts
from .protocol import SyncReport

INSTALL = 'install it with `pip install "spacy-spanqa[milvus]"`'
DEFAULT_COLLECTION = "spanqa"
# "snowball": the same lowercase + Snowball-stemmed tokens as the bm25s index, made here and
# stored in a `terms` field that Milvus's standard analyzer splits on spaces (works everywhere).
# The others are Milvus's own analyzers on the passage text: "english" (stemming) needs a server.
ANALYZERS = ("snowball", "standard", "english")
MAX_VARCHAR = 65_535  # Milvus's limit, in UTF-8 bytes
INSERT_ROWS = 2_000
DELETE_CLAUSES = 200
LITE_KEEPALIVE = {"grpc.keepalive_time_ms": 600_000, "grpc.keepalive_permit_without_calls": False}
PASSAGE_FIELDS = ["passage_id", "text", "title", "path", "url", "start_char", "end_char", "metadata"]


def is_milvus_uri(index: Union[str, os.PathLike]) -> bool:
    """True for what pymilvus.MilvusClient(uri=...) opens: a `*.db` path (Milvus Lite) or an http(s) URL."""
    text = str(index)
    return text.endswith(".db") or re.match(r"^(https?|tcp)://", text) is not None


def is_lite_uri(uri: str) -> bool:
    return not re.match(r"^(https?|tcp)://", uri)


class MilvusRetriever:
    """Passages of a knowledge base in a Milvus collection, ranked by Milvus's BM25.

    Searching is safe from several threads (the gRPC client is).
    """

    def __init__(self, client, uri: str, collection: str, analyzer: str, stopwords: bool = False,
                 max_words: int = 120, overlap_sentences: int = 1):
        self.client = client
        self.uri = uri
        self.collection = collection
        self.analyzer = analyzer
        self.stopwords = stopwords
        self.max_words = max_words
        self.overlap_sentences = overlap_sentences

    @property
    def backend(self) -> str:
        return "milvus-lite" if is_lite_uri(self.uri) else "milvus"

    def __repr__(self) -> str:
        return f"MilvusRetriever({self.uri!r}, collection={self.collection!r}, analyzer={self.analyzer!r})"

    @classmethod
    def connect(cls, uri: Union[str, os.PathLike], collection: str = DEFAULT_COLLECTION, create: bool = False,
                analyzer: str = "snowball", stopwords: bool = False, k1: float = 1.5, b: float = 0.75,
                max_words: int = 120, overlap_sentences: int = 1, timeout: float = 10.0) -> "MilvusRetriever":
        """Open `collection` at `uri`; with `create`, make it (BM25 schema and index) when it is missing.

        `analyzer`, `stopwords` (drop English stopwords; the english analyzer always
        does), `k1` and `b` apply when the collection is created; an existing
        collection keeps its own, and asking `create` for another analyzer is an error.
        """
        uri = str(uri)
        if analyzer not in ANALYZERS:
            raise ValueError(f"Unknown Milvus analyzer {analyzer!r}; choose one of: {', '.join(ANALYZERS)}.")
        if max_words < 1 or overlap_sentences < 0:
            raise ValueError(f"max_words must be >= 1 and overlap_sentences >= 0 (got {max_words}, {overlap_sentences}).")
        if create and analyzer == "english" and is_lite_uri(uri):
            raise ValueError("Milvus Lite has no 'english' analyzer (only a Milvus server has); pass --analyzer snowball or standard.")
        client = _client(uri, timeout)
        try:
            if not client.has_collection(collection):
                if not create:
                    raise ValueError(
                        f"There is no collection {collection!r} at {uri}; create it with "
                        f"`spanqa index FOLDER --index {uri} --collection {collection}`."
                    )
                _create_collection(client, collection, analyzer, stopwords, k1, b)
            found, found_stopwords = _check_schema(client, uri, collection)
            if create and found != analyzer:
                raise ValueError(
                    f"The collection {collection!r} at {uri} uses the {found!r} analyzer, not {analyzer!r}; "
                    f"pass --analyzer {found}, or another --collection."
                )
            if create and found != "english" and found_stopwords != stopwords:
                flag = "--stopwords" if found_stopwords else "--no-stopwords"
                raise ValueError(
                    f"The collection {collection!r} at {uri} was made {'without' if not found_stopwords else 'with'} "
                    f"stopwords dropped; pass {flag}, or another --collection."
                )
            client.load_collection(collection)
        except BaseException:
            client.close()
            raise
        return cls(client, uri, collection, found, found_stopwords, max_words, overlap_sentences)

    def close(self) -> None:
        """Disconnect; for a .db path also stop this process's Milvus Lite engine, so another process can open it."""
        self.client.close()
        if is_lite_uri(self.uri):
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(self.uri)

    def __len__(self) -> int:
        rows = self.client.query(self.collection, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def describe(self) -> Dict[str, Any]:
        """What this index is, for `--json` output and logs."""
        return {
            "backend": self.backend, "index": self.uri, "collection": self.collection, "passages": len(self),
            "settings": {"analyzer": self.analyzer, "stopwords": self.stopwords, "max_words": self.max_words,
                         "overlap_sentences": self.overlap_sentences},
        }

    # Searching

    def search(self, query: str, top_k: int = 5) -> List[Tuple[Passage, float]]:
        """Up to `top_k` (passage, BM25 score) pairs, best first; [] when no passage shares a word."""
        return self.search_many([query], top_k)[0]

    def search_many(self, queries: Sequence[str], top_k: int = 5) -> List[List[Tuple[Passage, float]]]:
        """`search` for a batch of queries in one Milvus request."""
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1 (got {top_k}).")
        if self.analyzer == "snowball":
            texts = [" ".join(t) for t in tokenize_queries(list(queries), stemming=True, stopwords=self.stopwords)]
        else:
            texts = [q if re.search(r"\w", q) else "" for q in queries]
        asked = [i for i, text in enumerate(texts) if text]
        results: List[List[Tuple[Passage, float]]] = [[] for _ in texts]
        if asked:
            found = self.client.search(
                self.collection, data=[texts[i] for i in asked], anns_field="sparse", limit=top_k,
                search_params={"metric_type": "BM25"}, output_fields=PASSAGE_FIELDS,
            )
            for i, hits in zip(asked, found):
                # A server reports the BM25 score as the distance; Milvus Lite reports its negative.
                results[i] = [(_passage(hit["entity"]), abs(float(hit["distance"]))) for hit in hits if hit["distance"]]
        return results

    # Syncing from a folder

    def sync(self, folder: Union[str, os.PathLike], progress: bool = False) -> SyncReport:
        """Make the collection hold exactly the folder's passages; unchanged files cost a hash.

        A changed file's new passages are written before its old ones are
        deleted, so a search never finds the file missing; a sync killed at any
        point is safe to run again and converges to the folder's content.
        """
        folder = Path(folder)
        stored = self._stored_versions()
        self._delete_unclosed(stored)
        report = SyncReport(full_rebuild=not stored)
        exclude = Path(self.uri) if is_lite_uri(self.uri) else None
        seen, batch, batch_rows, stale, written = set(), [], 0, [], 0
        for source in knowledge_base.read_sources(folder, exclude=exclude, progress=progress):
            seen.add(source.rel)
            version = self._version(source.sha256)
            versions = stored.get(source.rel, {})
            if version in versions:
                report.reused.append(source.rel)
                if len(versions) > 1:  # a killed sync wrote this version but did not delete the old one
                    stale.append((source.rel, version))
                continue
            report.read.append(source.rel)
            passages = source.passages(self.max_words, self.overlap_sentences)
            batch.append((source.rel, version, passages))
            batch_rows += len(passages)
            if batch_rows >= INSERT_ROWS:
                written += self._write(batch)
                batch, batch_rows = [], 0
        written += self._write(batch)
        if not written and not report.reused:
            raise ValueError(knowledge_base.no_documents_message(folder))
        self._delete_other_versions(stale)
        report.removed = sorted(set(stored) - seen)
        for start in range(0, len(report.removed), DELETE_CLAUSES):
            names = report.removed[start : start + DELETE_CLAUSES]
            self.client.delete(self.collection, filter=f"path in [{', '.join(_quote(n) for n in names)}]")
        if report.read or report.removed or stale:
            # Seal what was written into indexed segments: Milvus Lite searches unsealed rows by brute force
            # (measured 2.1 s vs 0.11 s a query at 17k passages).
            self.client.flush(self.collection)
        return report

    def _version(self, sha256: str) -> str:
        """The stored version of a file: its content hash under the settings that split and tokenise it."""
        settings = f"{self.analyzer}/{self.stopwords}/{self.max_words}/{self.overlap_sentences}/{sha256}"
        return hashlib.sha256(settings.encode("utf8")).hexdigest()

    def _stored_versions(self) -> Dict[str, Dict[str, int]]:
        """{path: {version: passage count}} of every file version whose rows are all written."""
        stored: Dict[str, Dict[str, int]] = {}
        for row in self._scan("closes_source == true", ["path", "source_hash", "source_passages"]):
            stored.setdefault(row["path"], {})[row["source_hash"]] = int(row["source_passages"])
        return stored

    def _delete_unclosed(self, stored: Dict[str, Dict[str, int]]) -> None:
        """Delete the rows of file versions that a killed sync left without their closing row."""
        if len(self) == sum(n for versions in stored.values() for n in versions.values()):
            return
        doomed = [row["pk"] for row in self._scan("", ["pk", "path", "source_hash"])
                  if row["source_hash"] not in stored.get(row["path"], {})]
        for start in range(0, len(doomed), INSERT_ROWS):
            self.client.delete(self.collection, ids=doomed[start : start + INSERT_ROWS])

    def _write(self, batch: List[Tuple[str, str, List[Passage]]]) -> int:
        """Insert the files' rows, closing rows last, then delete those files' other versions."""
        rows = [[self._row(p, version, n, len(passages)) for n, p in enumerate(passages)]
                for _, version, passages in batch]
        if self.analyzer == "snowball":
            flat_rows = [row for file_rows in rows for row in file_rows]
            for row, terms in zip(flat_rows, _snowball_terms([row["text"] for row in flat_rows], self.stopwords)):
                row["terms"] = terms
        body = [row for file_rows in rows for row in file_rows[:-1]]
        closing = [file_rows[-1] for file_rows in rows if file_rows]
        for start in range(0, len(body), INSERT_ROWS):
            self.client.insert(self.collection, body[start : start + INSERT_ROWS])
        if closing:
            self.client.insert(self.collection, closing)
        self._delete_other_versions([(rel, version) for rel, version, _ in batch])
        return len(body) + len(closing)

    def _delete_other_versions(self, keep: List[Tuple[str, str]]) -> None:
        for start in range(0, len(keep), DELETE_CLAUSES):
            clauses = [f"(path == {_quote(rel)} and source_hash != {_quote(v)})" for rel, v in keep[start : start + DELETE_CLAUSES]]
            self.client.delete(self.collection, filter=" or ".join(clauses))

    def _row(self, p: Passage, version: str, n: int, count: int) -> Dict[str, Any]:
        text, end_char = _fit(p.text), p.end_char
        end_char -= len(p.text) - len(text)  # still a verbatim slice of the document when cut to fit
        row = {
            "pk": f"{version[:32]}:{n}", "passage_id": _fit(p.id), "text": text, "title": _fit(p.title),
            "path": p.path, "url": _fit(p.url or ""), "start_char": p.start_char, "end_char": end_char,
            "metadata": p.metadata, "source_hash": version, "source_passages": count, "closes_source": n == count - 1,
        }
        return row

    def _scan(self, filter: str, fields: List[str]) -> Iterable[Dict[str, Any]]:
        if is_lite_uri(self.uri):
            _quiet_lite_iterator_warning()
        iterator = self.client.query_iterator(self.collection, batch_size=2_000, filter=filter, output_fields=fields)
        try:
            while True:
                rows = iterator.next()
                if not rows:
                    return
                yield from rows
        finally:
            iterator.close()


class _NoSessionTimestampWarning(logging.Filter):
    """Milvus Lite has no MVCC timestamp for query iterators; pymilvus warns each time and then works."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("failed to get mvccTs")


@functools.lru_cache(maxsize=1)
def _quiet_lite_iterator_warning() -> None:
    logging.getLogger("pymilvus.client.iterator.query_iterator").addFilter(_NoSessionTimestampWarning())


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


def _client(uri: str, timeout: float):
    """A connected MilvusClient, or one sentence saying why there is none."""
    pymilvus = _import_pymilvus(uri)
    if is_lite_uri(uri):
        path = Path(uri)
        if not path.parent.is_dir():
            raise ValueError(f"The folder {path.parent} for the Milvus Lite database {uri} does not exist; create it first.")
        if path.exists() and not path.is_dir():
            raise ValueError(f"{uri} is a file, not a Milvus Lite database; give a new path ending in .db.")
        _check_lite_lock(path)
    # Milvus Lite's Python gRPC server answers pymilvus's 10 s keepalive pings on an idle
    # connection with GOAWAY "too_many_pings" (logged to stderr); it allows one per 5 minutes.
    options = {"grpc_options": LITE_KEEPALIVE} if is_lite_uri(uri) else {}
    try:
        return pymilvus.MilvusClient(uri=uri, timeout=timeout, **options)
    except pymilvus.exceptions.MilvusException as err:
        if is_lite_uri(uri):
            raise ValueError(f"Cannot open the Milvus Lite database {uri} ({err.message}); give a new path ending in .db.") from None
        raise ValueError(
            f"Cannot reach a Milvus server at {uri} ({err.message}); start it, or fix the URL given to --index."
        ) from None


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


def _analyzer_params(analyzer: str, stopwords: bool) -> Dict[str, Any]:
    """Milvus analyzer settings of the BM25 input field; a stop filter records (and applies) `stopwords`."""
    if analyzer == "english":
        return {"type": "english"}  # Milvus's english analyzer drops English stopwords itself
    params: Dict[str, Any] = {"tokenizer": "standard", "filter": ["lowercase"]}
    if stopwords:
        words = sorted(STOPWORDS_EN)
        if analyzer == "snowball":  # the terms are stems already: "was" is stored as "wa"
            words = sorted({" ".join(t) for t in tokenize_queries(words, stemming=True, stopwords=False)} - {""})
        params["filter"].append({"type": "stop", "stop_words": words})
    return params


def _create_collection(client, collection: str, analyzer: str, stopwords: bool, k1: float, b: float) -> None:
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=64)
    schema.add_field("passage_id", DataType.VARCHAR, max_length=MAX_VARCHAR)
    if analyzer == "snowball":
        schema.add_field("text", DataType.VARCHAR, max_length=MAX_VARCHAR)
        schema.add_field("terms", DataType.VARCHAR, max_length=MAX_VARCHAR, enable_analyzer=True,
                         analyzer_params=_analyzer_params(analyzer, stopwords))
    else:
        schema.add_field("text", DataType.VARCHAR, max_length=MAX_VARCHAR, enable_analyzer=True,
                         analyzer_params=_analyzer_params(analyzer, stopwords))
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    for name in ("title", "path", "url"):
        schema.add_field(name, DataType.VARCHAR, max_length=MAX_VARCHAR)
    schema.add_field("start_char", DataType.INT64)
    schema.add_field("end_char", DataType.INT64)
    schema.add_field("metadata", DataType.JSON)
    schema.add_field("source_hash", DataType.VARCHAR, max_length=64)
    schema.add_field("source_passages", DataType.INT64)
    schema.add_field("closes_source", DataType.BOOL)
    bm25_input = "terms" if analyzer == "snowball" else "text"
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                 input_field_names=[bm25_input], output_field_names=["sparse"]))
    index_params = client.prepare_index_params()
    index_params.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                           params={"bm25_k1": float(k1), "bm25_b": float(b)})
    try:
        client.create_collection(collection, schema=schema, index_params=index_params, consistency_level="Strong")
    except Exception as err:  # e.g. a server older than 2.5, which has no BM25 function
        raise ValueError(
            f"Could not create the collection {collection!r} ({getattr(err, 'message', err)}); "
            "BM25 full-text search needs Milvus 2.5 or newer, with the analyzer you chose."
        ) from None


def _check_schema(client, uri: str, collection: str) -> Tuple[str, bool]:
    """The collection's analyzer and whether it drops stopwords; one clear error when something else made it."""
    from pymilvus import DataType, FunctionType

    info = client.describe_collection(collection)
    fields = {f["name"]: f for f in info["fields"]}
    expected = {
        "pk": DataType.VARCHAR, "passage_id": DataType.VARCHAR, "text": DataType.VARCHAR,
        "sparse": DataType.SPARSE_FLOAT_VECTOR, "title": DataType.VARCHAR, "path": DataType.VARCHAR,
        "url": DataType.VARCHAR, "start_char": DataType.INT64, "end_char": DataType.INT64,
        "metadata": DataType.JSON, "source_hash": DataType.VARCHAR, "source_passages": DataType.INT64,
        "closes_source": DataType.BOOL,
    }
    wrong = [name for name, dtype in expected.items() if name not in fields or fields[name]["type"] != dtype]
    bm25 = [f for f in info.get("functions", []) if f["type"] == FunctionType.BM25 and f["output_field_names"] == ["sparse"]]
    source = bm25[0]["input_field_names"][0] if bm25 else None
    if wrong or source not in ("text", "terms") or source not in fields:
        problem = f"fields {', '.join(wrong)} are missing or of another type" if wrong else "it has no BM25 function filling 'sparse'"
        raise ValueError(
            f"The collection {collection!r} at {uri} was not made by spanqa ({problem}); "
            "pass another --collection, or drop this one."
        )
    params = fields[source].get("params", {}).get("analyzer_params") or "{}"
    params = json.loads(params) if isinstance(params, str) else params
    stop = any(isinstance(f, dict) and f.get("type") == "stop" for f in params.get("filter") or [])
    if source == "terms":
        return "snowball", stop
    analyzer = str(params.get("type") or params.get("tokenizer") or "standard")
    return analyzer, stop or analyzer == "english"


def _snowball_terms(texts: List[str], stopwords: bool) -> List[str]:
    """The bm25s index's tokens of each text (lowercased, Snowball-stemmed), joined by spaces."""
    if not texts:
        return []
    flat, lengths, vocab = tokenize_texts(texts, stemming=True, stopwords=stopwords)
    tokens = [vocab[i] for i in flat.tolist()]
    out, start = [], 0
    for n in lengths.tolist():
        out.append(_fit(" ".join(tokens[start : start + n])))
        start += n
    return out


def _passage(entity: Dict[str, Any]) -> Passage:
    return Passage(
        id=entity["passage_id"], text=entity["text"], title=entity["title"], path=entity["path"],
        url=entity["url"] or None, start_char=int(entity["start_char"]), end_char=int(entity["end_char"]),
        metadata=dict(entity.get("metadata") or {}),
    )


def _fit(text: str) -> str:
    """`text` cut to Milvus's VARCHAR limit (UTF-8 bytes), on a character boundary."""
    data = text.encode("utf8")
    return text if len(data) <= MAX_VARCHAR else data[:MAX_VARCHAR].decode("utf8", errors="ignore")


def _quote(value: str) -> str:
    """A string literal for a Milvus filter expression."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
