"""MilvusRetriever: BM25 search over a spanqa collection, and syncing it from a folder.

Scoring: each row holds its passage's BM25 term weights, made here (weights.py);
a query's terms carry their IDF from the statistics the collection keeps beside
it (stats.py); Milvus ranks by inner product. A synced file ranks as in a fresh
build, whatever segment Milvus put it in. Collections made by 0.2/0.3 (Milvus's
BM25 function, statistics per segment) still search; their next sync re-creates
them in this format.

How a sync stays safe when killed: every row carries its file's version (path,
content hash, settings) and passage count, and a file's last row is written
only after its statistics row and all its other rows (`closes_source`). A file
version counts as stored once its closing row exists; other versions of the
file (rows and statistics) are deleted after that. Rows and statistics of a
version that never closed are found (the row count disagrees with the closing
rows' counts; a statistics row without a closing row) and deleted on the next
sync. A sync ends by re-weighting files written when the average passage length
differed by more than REWEIGHT_DRIFT, then tells searchers that statistics changed.
"""
import hashlib
import logging
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from ...results import Passage
from .. import documents
from ..passages import source_passages
from ..protocol import SyncReport
from ..settings import ANALYZERS, DEFAULT_COLLECTION, DEFAULT_TOP_K, FusionSettings, MilvusSettings
from . import client as milvus_client
from . import schema, stats, weights
from .client import is_lite_uri
from .weights import FileStats, Tokens

INSERT_ROWS = 2_000
DELETE_CLAUSES = 200
# Rows are weighted with the average passage length of their time; a file whose avgdl is off from
# the collection's by more than this is re-weighted at the end of a sync (see docs/scaling-out.md).
REWEIGHT_DRIFT = 0.02
ROW_FIELDS = [f.name for f in schema.FIELDS if f.name != "sparse"]
RRF_K = 60  # Reciprocal Rank Fusion's constant in hybrid search (Milvus's default)
logger = logging.getLogger(__name__)


class MilvusRetriever:
    """Passages of a knowledge base in a Milvus collection, ranked by BM25, a sentence encoder ("dense")
    or both fused by Milvus's hybrid search ("hybrid"): the mode the collection was made with.

    Searching is safe from several threads (the gRPC client is).
    """

    modes = ("bm25", "dense", "hybrid")

    def __init__(self, client, uri: str, collection: str, settings: MilvusSettings = MilvusSettings(),
                 format: int = schema.FORMAT):
        self.client = client
        self.uri = uri
        self.collection = collection
        self.settings = settings  # analyzer, stopwords, k1 and b as the collection has them
        self.format = format  # schema.FORMAT, or 1: made by 0.2/0.3, ranked by Milvus's BM25 function
        self.stats = stats.StatsStore(client, uri, collection)
        self.fusion = FusionSettings()  # hybrid: `candidates` passages from each side, fused by rank (RRF)
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
    def mode(self) -> str:
        return self.settings.mode

    @property
    def encoder(self):
        """The sentence encoder of a "dense" or "hybrid" collection (loaded once per process)."""
        from ..encoder import shared_encoder

        return shared_encoder(self.settings.encoder)

    @property
    def backend(self) -> str:
        return "milvus-lite" if is_lite_uri(self.uri) else "milvus"

    def __repr__(self) -> str:
        return f"MilvusRetriever({self.uri!r}, collection={self.collection!r}, analyzer={self.analyzer!r}, mode={self.mode!r})"

    @classmethod
    def connect(cls, uri: Union[str, os.PathLike], collection: str = DEFAULT_COLLECTION, create: bool = False,
                settings: Optional[MilvusSettings] = None, *, timeout: float = 10.0,
                **overrides: Any) -> "MilvusRetriever":
        """Open `collection` at `uri`; with `create`, make it (fields, index, statistics) when it is missing.

        settings: a `MilvusSettings` (default: its defaults); `overrides` are any
        of its fields by name (analyzer="standard", stopwords=True, ...) applied
        on top. `analyzer` (spanqa's tokens: snowball stems, standard does
        not, english stems and drops stopwords), `stopwords`, `k1`, `b`,
        `mode` (bm25, dense, hybrid) and `encoder` apply when the collection is
        created; an existing collection keeps its own, and asking `create` for
        another analyzer or mode is an error.
        """
        uri = str(uri)
        settings = _settings(settings, overrides)
        if settings.analyzer not in ANALYZERS:
            raise ValueError(f"Unknown Milvus analyzer {settings.analyzer!r}; choose one of: {', '.join(ANALYZERS)}.")
        if settings.analyzer == "english":  # stemming without stopwords, as Milvus's english analyzer does
            settings = replace(settings, stopwords=True)
        client = milvus_client.connect_client(uri, timeout)
        try:
            if not client.has_collection(collection):
                if not create:
                    raise ValueError(
                        f"There is no collection {collection!r} at {uri}; create it with "
                        f"`spanqa index FOLDER --index {uri} --collection {collection}`."
                    )
                dim = _encoder_dim(settings) if settings.mode != "bm25" else 0
                schema.create_collection(client, collection, settings.analyzer, settings.stopwords, settings.k1,
                                         settings.b, settings.mode, settings.encoder, dim)
            info = schema.check_schema(client, uri, collection)
            if create:
                _check_mode(info, settings, collection, uri)
            found, found_stopwords = info.analyzer, info.stopwords
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
        if info.format != 1:
            settings = replace(settings, k1=info.k1, b=info.b, mode=info.mode, encoder=info.encoder or settings.encoder)
        return cls(client, uri, collection, replace(settings, analyzer=found, stopwords=found_stopwords), info.format)

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
                         "overlap_sentences": self.overlap_sentences, "k1": self.settings.k1, "b": self.settings.b,
                         "mode": self.mode, **({"encoder": self.settings.encoder} if self.mode != "bm25" else {})},
            "bm25": "milvus-function (0.3; re-created by the next sync)" if self.format == 1 else "spanqa",
        }

    # Searching

    def search(self, query: str, top_k: int = DEFAULT_TOP_K) -> List[Tuple[Passage, float]]:
        """Up to `top_k` (passage, score) pairs, best first: the BM25 score ([] when no passage shares a word),
        the cosine ("dense"), or the Reciprocal Rank Fusion score of both rankings ("hybrid")."""
        return self.search_many([query], top_k)[0]

    def search_many(self, queries: Sequence[str], top_k: int = DEFAULT_TOP_K) -> List[List[Tuple[Passage, float]]]:
        """`search` for a batch of queries in one Milvus request."""
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1 (got {top_k}).")
        if self.format == 1:
            return self._search_function_bm25(queries, top_k)
        sparse: List[Dict[int, float]] = []
        if self.mode != "dense":
            stemming, stopwords = weights.analysis(self.analyzer, self.stopwords)
            with self.stats.lock:
                sparse = weights.query_vectors(queries, self.stats.current(), stemming, stopwords)
        if self.mode == "bm25":
            return self._search_field(sparse, "IP", top_k)
        dense = [v.tolist() for v in self.encoder.encode_queries(list(queries))] if queries else []
        if self.mode == "dense":
            return self._search_field(dense, "COSINE", top_k, schema.DENSE)
        return self._search_hybrid(sparse, dense, top_k)

    def _search_hybrid(self, sparse: List[Dict[int, float]], dense: List[List[float]],
                       top_k: int) -> List[List[Tuple[Passage, float]]]:
        """BM25's and the encoder's `fusion.candidates` best each, fused by Milvus's RRF ranker, in one request.

        A query that shares no word with the passages is ranked by the encoder alone."""
        from pymilvus import AnnSearchRequest, RRFRanker

        results = self._search_field([d if not s else [] for s, d in zip(sparse, dense)], "COSINE", top_k, schema.DENSE)
        asked = [i for i, s in enumerate(sparse) if s]
        if asked:
            candidates = max(top_k, self.fusion.candidates)
            requests = [
                AnnSearchRequest([sparse[i] for i in asked], "sparse", {"metric_type": "IP"}, candidates),
                AnnSearchRequest([dense[i] for i in asked], schema.DENSE, {"metric_type": "COSINE"}, candidates),
            ]
            found = self.client.hybrid_search(self.collection, requests, RRFRanker(RRF_K), limit=top_k,
                                              output_fields=schema.PASSAGE_FIELDS)
            for i, hits in zip(asked, found):
                results[i] = [(schema.row_passage(hit["entity"]), float(hit["distance"])) for hit in hits]
        return results

    def _search_function_bm25(self, queries: Sequence[str], top_k: int) -> List[List[Tuple[Passage, float]]]:
        """A 0.2/0.3 collection: Milvus's BM25 function scores the query text (statistics per segment)."""
        if self.analyzer == "snowball":
            texts = schema.snowball_query(list(queries), self.stopwords)
        else:
            texts = [q if re.search(r"\w", q) else "" for q in queries]
        return self._search_field(texts, "BM25", top_k)

    def _search_field(self, data: list, metric: str, top_k: int, field: str = "sparse") -> List[List[Tuple[Passage, float]]]:
        """One Milvus search of `field` for every non-empty query of `data`; [] for the empty ones."""
        asked = [i for i, q in enumerate(data) if len(q)]
        results: List[List[Tuple[Passage, float]]] = [[] for _ in data]
        if asked:
            found = self.client.search(
                self.collection, data=[data[i] for i in asked], anns_field=field, limit=top_k,
                search_params={"metric_type": metric}, output_fields=schema.PASSAGE_FIELDS,
            )
            for i, hits in zip(asked, found):
                # A server reports the BM25 metric's score as the distance, Milvus Lite its negative; IP and COSINE
                # distances are the scores on both.
                results[i] = [(schema.row_passage(hit["entity"]), abs(d) if metric == "BM25" else d)
                              for hit in hits for d in [float(hit["distance"])] if d or metric == "COSINE"]
        return results

    # Syncing from a folder

    def sync(self, folder: Union[str, os.PathLike], progress: bool = False) -> SyncReport:
        """Make the collection hold exactly the folder's passages; unchanged files cost a hash.

        A changed file's new passages are written before its old ones are
        deleted, so a search never finds the file missing; a sync killed at any
        point is safe to run again and converges to the folder's content.
        """
        folder = Path(folder)
        exclude = Path(self.uri) if is_lite_uri(self.uri) else None
        if self.format == 1:
            self._recreate(folder, exclude)
        self.stats.reload()
        stored = self._stored_versions()
        self._delete_unclosed(stored)
        orphans = [v for v in self.stats.corpus.files if v not in {v for vs in stored.values() for v in vs}]
        self.stats.delete(orphans)  # statistics of versions whose rows never closed
        report = SyncReport(full_rebuild=not stored)
        seen, batch, batch_rows, stale, written = set(), [], 0, [], 0
        for source in documents.read_sources(folder, exclude=exclude, progress=progress):
            seen.add(source.rel)
            version = self._version(source.rel, source.sha256)
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
            self.stats.delete([v for v, path in list(self.stats.paths.items()) if path in set(names)])
        reweighted = self._reweight()
        if report.read or report.removed or stale or orphans or reweighted:
            self.stats.bump()
            # Seal what was written into indexed segments: Milvus Lite searches unsealed rows by brute force
            # (measured 2.1 s vs 0.11 s a query at 17k passages).
            self.client.flush(self.collection)
        return report

    def _recreate(self, folder: Path, exclude: Optional[Path]) -> None:
        """Re-create a 0.2/0.3 collection in this format (every file is read again), once the folder has documents."""
        if next(iter(documents.read_sources(folder, exclude=exclude)), None) is None:
            raise ValueError(documents.no_documents_message(folder))
        logger.warning("The collection %r at %s was made by spanqa 0.3 or older, whose BM25 ranks files added by later "
                       "syncs too low; re-creating it from %s.", self.collection, self.uri, folder)
        stats.drop(self.client, self.collection)
        s = self.settings
        schema.create_collection(self.client, self.collection, s.analyzer, s.stopwords, s.k1, s.b)
        self.client.load_collection(self.collection)
        self.format = schema.FORMAT

    def _version(self, rel: str, sha256: str) -> str:
        """The stored version of a file: its path and content hash under the settings that split, tokenise and weight it."""
        s = self.settings
        key = f"{schema.FORMAT}/{s.analyzer}/{s.stopwords}/{s.k1}/{s.b}/{s.max_words}/{s.overlap_sentences}/{rel}/{sha256}"
        return hashlib.sha256(key.encode("utf8")).hexdigest()

    def _stored_versions(self) -> Dict[str, Dict[str, int]]:
        """{path: {version: passage count}} of every file version whose rows and statistics are all written.

        A closed version without its statistics row (deleted by hand) is not stored: the sync writes it again."""
        stored: Dict[str, Dict[str, int]] = {}
        for row in self._scan("closes_source == true", ["path", "source_hash", "source_passages"]):
            if row["source_hash"] in self.stats.corpus.files:
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
        """Store the files' statistics, insert their rows (closing rows last), then delete those files' other versions."""
        batch = [(rel, version, passages) for rel, version, passages in batch if passages]
        if not batch:
            return 0
        rows = [[self._row(p, version, n, len(passages)) for n, p in enumerate(passages)]
                for _, version, passages in batch]
        flat_rows = [row for file_rows in rows for row in file_rows]
        tokens = self._tokens([row["text"] for row in flat_rows])
        corpus = self.stats.corpus
        avgdl = (corpus.tokens + int(tokens.lengths.sum())) / (corpus.passages + len(flat_rows))
        files = tokens.split([len(passages) for _, _, passages in batch])
        self.stats.put([(version, rel, FileStats.of(t, avgdl)) for (rel, version, _), t in zip(batch, files)])
        for row, vector in zip(flat_rows, weights.document_vectors(tokens, self.settings.k1, self.settings.b, avgdl)):
            row["sparse"] = vector
        if self.mode != "bm25":  # only the files this sync reads are encoded
            for row, vector in zip(flat_rows, self.encoder.encode([row["text"] for row in flat_rows])):
                row[schema.DENSE] = vector.tolist()
        body = [row for file_rows in rows for row in file_rows[:-1]]
        closing = [file_rows[-1] for file_rows in rows]
        for start in range(0, len(body), INSERT_ROWS):
            self.client.insert(self.collection, body[start : start + INSERT_ROWS])
        self.client.insert(self.collection, closing)
        self._delete_other_versions([(rel, version) for rel, version, _ in batch])
        return len(flat_rows)

    def _delete_other_versions(self, keep: List[Tuple[str, str]]) -> None:
        for start in range(0, len(keep), DELETE_CLAUSES):
            chunk = keep[start : start + DELETE_CLAUSES]
            clauses = [f"(path == {_quote(rel)} and source_hash != {_quote(v)})" for rel, v in chunk]
            self.client.delete(self.collection, filter=" or ".join(clauses))
            wanted = dict(chunk)
            self.stats.delete([v for v, path in list(self.stats.paths.items()) if path in wanted and v != wanted[path]])

    def _reweight(self) -> int:
        """Re-weight the rows of files written when the average passage length differed by more than REWEIGHT_DRIFT.

        Each file's statistics row records its avgdl last, so a killed re-weighting is redone by the next sync."""
        corpus = self.stats.corpus
        avgdl = corpus.avgdl
        if not avgdl:
            return 0
        stale = [v for v, f in corpus.files.items() if f.passages and abs(f.avgdl / avgdl - 1) > REWEIGHT_DRIFT]
        for start in range(0, len(stale), DELETE_CLAUSES):
            versions = stale[start : start + DELETE_CLAUSES]
            fields = ROW_FIELDS + ([schema.DENSE] if self.mode != "bm25" else [])  # upsert writes whole rows
            rows = list(self._scan(f"source_hash in [{', '.join(_quote(v) for v in versions)}]", fields))
            if rows:
                tokens = self._tokens([row["text"] for row in rows])
                for row, vector in zip(rows, weights.document_vectors(tokens, self.settings.k1, self.settings.b, avgdl)):
                    row["sparse"] = vector
            for first in range(0, len(rows), INSERT_ROWS):
                self.client.upsert(self.collection, rows[first : first + INSERT_ROWS])
            self.stats.put([(v, self.stats.paths[v], replace(corpus.files[v], avgdl=avgdl)) for v in versions])
        return len(stale)

    def _tokens(self, texts: List[str]) -> Tokens:
        stemming, stopwords = weights.analysis(self.analyzer, self.stopwords)
        return Tokens.of(texts, stemming, stopwords)

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


def _encoder_dim(settings: MilvusSettings) -> int:
    from ..encoder import shared_encoder

    return shared_encoder(settings.encoder).dim


def _check_mode(info: "schema.CollectionInfo", settings: MilvusSettings, collection: str, uri: str) -> None:
    """Refuse to sync a collection with another retrieval mode or encoder than the one asked for."""
    if info.mode == settings.mode and (info.mode == "bm25" or info.encoder == settings.encoder):
        return
    if info.mode == "bm25":
        raise ValueError(
            f"The collection {collection!r} at {uri} was made without dense vectors, so it cannot rank by "
            f"{settings.mode}; index the folder into another --collection with --{settings.mode}, or drop this one."
        )
    if info.mode != settings.mode:
        raise ValueError(f"The collection {collection!r} at {uri} ranks by {info.mode}; pass --{info.mode}, "
                         "or another --collection.")
    raise ValueError(f"The collection {collection!r} at {uri} was encoded with {info.encoder}; "
                     f"pass --encoder {info.encoder}, or another --collection.")


def _quote(value: str) -> str:
    """A string literal for a Milvus filter expression."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
