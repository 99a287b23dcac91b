"""The BM25 statistics a collection keeps in Milvus beside it: one row per stored file version
(its document frequencies, passages, tokens and the avgdl its rows were weighted with), the
settings the collection was made with, and a generation that every sync changes.

Kept in Milvus, not in a local file, so every process and machine searching the
collection scores with the same statistics; a searcher reloads only the file rows
that changed since it last looked, when the generation says a sync happened.
"""
import json
import threading
import uuid
from typing import Any, Dict, Iterable, List, Optional

from . import client as milvus_client
from .weights import NO_WORDS, CorpusStats, FileStats

SUFFIX = "__bm25_stats"
SETTINGS, GENERATION = "settings", "generation"  # the two rows that are not file versions
PAGE = 500


def stats_collection(collection: str) -> str:
    """The name of the statistics collection of `collection`."""
    return collection + SUFFIX


def create(client, collection: str, settings: Dict[str, Any]) -> None:
    """Make the statistics collection and its settings row (what spanqa needs to score the collection)."""
    from pymilvus import DataType, MilvusClient

    name = stats_collection(collection)
    if client.has_collection(name):  # left by a collection dropped without it: nothing in it is ours
        client.drop_collection(name)
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", DataType.VARCHAR, max_length=64, is_primary=True)
    schema.add_field("path", DataType.VARCHAR, max_length=65_535)
    schema.add_field("df", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("passages", DataType.INT64)
    schema.add_field("tokens", DataType.INT64)
    schema.add_field("avgdl", DataType.DOUBLE)
    schema.add_field("info", DataType.JSON)
    index_params = client.prepare_index_params()
    index_params.add_index(field_name="df", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    client.create_collection(name, schema=schema, index_params=index_params, consistency_level="Strong")
    client.load_collection(name)
    client.upsert(name, [_row(SETTINGS, "", None, settings)])


def read_settings(client, collection: str) -> Optional[Dict[str, Any]]:
    """The settings row of `collection`'s statistics, or None when it has none."""
    name = stats_collection(collection)
    if not client.has_collection(name):
        return None
    client.load_collection(name)
    rows = client.get(name, ids=[SETTINGS], output_fields=["info"])
    return _info(rows[0]) if rows else None


def drop(client, collection: str) -> None:
    """Drop `collection` and its statistics."""
    for name in (collection, stats_collection(collection)):
        if client.has_collection(name):
            client.drop_collection(name)


class StatsStore:
    """The statistics rows of one collection, and this process's sum of them (`corpus`)."""

    def __init__(self, client, uri: str, collection: str):
        self.client = client
        self.uri = uri
        self.name = stats_collection(collection)
        self.corpus = CorpusStats()
        self.paths: Dict[str, str] = {}  # file version -> path
        self.generation: Optional[str] = None
        self.lock = threading.Lock()  # held while the sums change or are read for a query

    def current(self) -> CorpusStats:
        """The corpus statistics as stored now: reloads the file rows that changed when a sync has run since.

        Call with `lock` held."""
        rows = self.client.get(self.name, ids=[GENERATION], output_fields=["info"])
        generation = _info(rows[0]).get("generation") if rows else ""
        if generation != self.generation:
            self.reload()
            self.generation = generation
        return self.corpus

    def reload(self) -> None:
        """Read the file versions' rows again: only those added since, dropping those gone."""
        stored = {row["pk"]: row["path"] for row in self._scan("", ["pk", "path"]) if row["pk"] not in (SETTINGS, GENERATION)}
        for version in set(self.corpus.files) - set(stored):
            self.corpus.remove(version)
            self.paths.pop(version, None)
        new = [v for v in stored if v not in self.corpus.files]
        for start in range(0, len(new), PAGE):
            for row in self.client.get(self.name, ids=new[start : start + PAGE],
                                       output_fields=["path", "df", "passages", "tokens", "avgdl"]):
                stats = FileStats.from_sparse(row["df"], int(row["passages"]), int(row["tokens"]), float(row["avgdl"]))
                self.corpus.add(row["pk"], stats)
                self.paths[row["pk"]] = row["path"]

    def put(self, files: List[tuple]) -> None:
        """Store (version, path, FileStats) rows, before the files' passages are written."""
        for start in range(0, len(files), PAGE):
            self.client.upsert(self.name, [_row(v, path, s, {}) for v, path, s in files[start : start + PAGE]])
        for version, path, stats in files:
            self.corpus.add(version, stats)
            self.paths[version] = path

    def delete(self, versions: Iterable[str]) -> None:
        """Forget file versions whose passages are deleted (or were never all written)."""
        versions = [v for v in versions if v not in (SETTINGS, GENERATION)]
        for start in range(0, len(versions), PAGE):
            self.client.delete(self.name, ids=versions[start : start + PAGE])
        for version in versions:
            self.corpus.remove(version)
            self.paths.pop(version, None)

    def bump(self) -> None:
        """Tell every searcher that the statistics changed (the end of a sync that changed anything)."""
        self.generation = uuid.uuid4().hex
        self.client.upsert(self.name, [_row(GENERATION, "", None, {"generation": self.generation})])

    def _scan(self, filter: str, fields: List[str]):
        return milvus_client.scan(self.client, self.uri, self.name, filter, fields)


def _row(pk: str, path: str, stats: Optional[FileStats], info: Dict[str, Any]) -> Dict[str, Any]:
    if stats is None:
        return {"pk": pk, "path": path, "df": {NO_WORDS: 1.0}, "passages": 0, "tokens": 0, "avgdl": 0.0, "info": info}
    return {"pk": pk, "path": path, "df": stats.sparse(), "passages": stats.passages, "tokens": stats.tokens,
            "avgdl": float(stats.avgdl), "info": info}


def _info(row: Dict[str, Any]) -> Dict[str, Any]:
    info = row.get("info") or {}
    return json.loads(info) if isinstance(info, str) else dict(info)
