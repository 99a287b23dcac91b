"""MilvusRetriever: BM25 search over a spanqa collection, and syncing it from a folder.

How a sync stays safe when killed: every row carries its file's content hash
and passage count, and a file's last row is written only after all its other
rows (`closes_source`). A file version counts as stored once its closing row
exists; other versions of the file are deleted after that. Rows of a version
that never closed are found (the row count disagrees with the closing rows'
counts) and deleted on the next sync.
"""
import hashlib
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from ...results import Passage
from .. import documents
from ..passages import source_passages
from ..protocol import SyncReport
from ..settings import ANALYZERS, DEFAULT_COLLECTION, DEFAULT_TOP_K, MilvusSettings
from . import client as milvus_client
from . import schema
from .client import is_lite_uri

INSERT_ROWS = 2_000
DELETE_CLAUSES = 200


class MilvusRetriever:
    """Passages of a knowledge base in a Milvus collection, ranked by Milvus's BM25.

    Searching is safe from several threads (the gRPC client is).
    """

    def __init__(self, client, uri: str, collection: str, settings: MilvusSettings = MilvusSettings()):
        self.client = client
        self.uri = uri
        self.collection = collection
        self.settings = settings  # analyzer and stopwords as the collection has them
        self.report: Optional[SyncReport] = None  # set by sync_index

    @property
    def analyzer(self) -> str:
        return self.settings.analyzer

    @property
    def stopwords(self) -> bool:
        return self.settings.stopwords

    @property
    def max_words(self) -> int:
        return self.settings.max_words

    @property
    def overlap_sentences(self) -> int:
        return self.settings.overlap_sentences

    @property
    def backend(self) -> str:
        return "milvus-lite" if is_lite_uri(self.uri) else "milvus"

    def __repr__(self) -> str:
        return f"MilvusRetriever({self.uri!r}, collection={self.collection!r}, analyzer={self.analyzer!r})"

    @classmethod
    def connect(cls, uri: Union[str, os.PathLike], collection: str = DEFAULT_COLLECTION, create: bool = False,
                settings: Optional[MilvusSettings] = None, *, timeout: float = 10.0,
                **overrides: Any) -> "MilvusRetriever":
        """Open `collection` at `uri`; with `create`, make it (BM25 schema and index) when it is missing.

        settings: a `MilvusSettings` (default: its defaults); `overrides` are any
        of its fields by name (analyzer="standard", stopwords=True, ...) applied
        on top. `analyzer`, `stopwords` (drop English stopwords; the english
        analyzer always does), `k1` and `b` apply when the collection is
        created; an existing collection keeps its own, and asking `create` for
        another analyzer is an error.
        """
        uri = str(uri)
        settings = _settings(settings, overrides)
        if settings.analyzer not in ANALYZERS:
            raise ValueError(f"Unknown Milvus analyzer {settings.analyzer!r}; choose one of: {', '.join(ANALYZERS)}.")
        if create and settings.analyzer == "english" and is_lite_uri(uri):
            raise ValueError("Milvus Lite has no 'english' analyzer (only a Milvus server has); pass --analyzer snowball or standard.")
        client = milvus_client.connect_client(uri, timeout)
        try:
            if not client.has_collection(collection):
                if not create:
                    raise ValueError(
                        f"There is no collection {collection!r} at {uri}; create it with "
                        f"`spanqa index FOLDER --index {uri} --collection {collection}`."
                    )
                schema.create_collection(client, collection, settings.analyzer, settings.stopwords, settings.k1, settings.b)
            found, found_stopwords = schema.check_schema(client, uri, collection)
            if create and found != settings.analyzer:
                raise ValueError(
                    f"The collection {collection!r} at {uri} uses the {found!r} analyzer, not {settings.analyzer!r}; "
                    f"pass --analyzer {found}, or another --collection."
                )
            if create and found != "english" and found_stopwords != settings.stopwords:
                flag = "--stopwords" if found_stopwords else "--no-stopwords"
                raise ValueError(
                    f"The collection {collection!r} at {uri} was made {'without' if not found_stopwords else 'with'} "
                    f"stopwords dropped; pass {flag}, or another --collection."
                )
            client.load_collection(collection)
        except BaseException:
            client.close()
            raise
        return cls(client, uri, collection, replace(settings, analyzer=found, stopwords=found_stopwords))

    def close(self) -> None:
        """Disconnect; for a .db path also stop this process's Milvus Lite engine, so another process can open it."""
        milvus_client.close_client(self.client, self.uri)

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

    def search(self, query: str, top_k: int = DEFAULT_TOP_K) -> List[Tuple[Passage, float]]:
        """Up to `top_k` (passage, BM25 score) pairs, best first; [] when no passage shares a word."""
        return self.search_many([query], top_k)[0]

    def search_many(self, queries: Sequence[str], top_k: int = DEFAULT_TOP_K) -> List[List[Tuple[Passage, float]]]:
        """`search` for a batch of queries in one Milvus request."""
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1 (got {top_k}).")
        if self.analyzer == "snowball":
            texts = schema.snowball_query(list(queries), self.stopwords)
        else:
            texts = [q if re.search(r"\w", q) else "" for q in queries]
        asked = [i for i, text in enumerate(texts) if text]
        results: List[List[Tuple[Passage, float]]] = [[] for _ in texts]
        if asked:
            found = self.client.search(
                self.collection, data=[texts[i] for i in asked], anns_field="sparse", limit=top_k,
                search_params={"metric_type": "BM25"}, output_fields=schema.PASSAGE_FIELDS,
            )
            for i, hits in zip(asked, found):
                # A server reports the BM25 score as the distance; Milvus Lite reports its negative.
                results[i] = [(schema.row_passage(hit["entity"]), abs(float(hit["distance"]))) for hit in hits if hit["distance"]]
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
        for source in documents.read_sources(folder, exclude=exclude, progress=progress):
            seen.add(source.rel)
            version = self._version(source.sha256)
            versions = stored.get(source.rel, {})
            if version in versions:
                report.reused.append(source.rel)
                if len(versions) > 1:  # a killed sync wrote this version but did not delete the old one
                    stale.append((source.rel, version))
                continue
            report.read.append(source.rel)
            passages = source_passages(source, self.settings)
            batch.append((source.rel, version, passages))
            batch_rows += len(passages)
            if batch_rows >= INSERT_ROWS:
                written += self._write(batch)
                batch, batch_rows = [], 0
        written += self._write(batch)
        if not written and not report.reused:
            raise ValueError(documents.no_documents_message(folder))
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
            for row, terms in zip(flat_rows, schema.snowball_terms([row["text"] for row in flat_rows], self.stopwords)):
                row[schema.TERMS.name] = terms
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

    @staticmethod
    def _row(p: Passage, version: str, n: int, count: int) -> Dict[str, Any]:
        """A passage's row: its fields plus the sync bookkeeping (version, count, closing row)."""
        return {"pk": f"{version[:32]}:{n}", **schema.passage_row(p), "source_hash": version,
                "source_passages": count, "closes_source": n == count - 1}

    def _scan(self, filter: str, fields: List[str]) -> Iterable[Dict[str, Any]]:
        return milvus_client.scan(self.client, self.uri, self.collection, filter, fields)


def _settings(settings: Optional[MilvusSettings], overrides: Dict[str, Any]) -> MilvusSettings:
    """`settings` (or the defaults) with `overrides` applied; one clear error for a wrong kind of settings."""
    if settings is None:
        return MilvusSettings(**overrides)
    if not isinstance(settings, MilvusSettings):
        raise TypeError(f"A Milvus index takes MilvusSettings, not {type(settings).__name__}.")
    return replace(settings, **overrides) if overrides else settings


def _quote(value: str) -> str:
    """A string literal for a Milvus filter expression."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
