"""The collection spanqa keeps in Milvus: its fields (declared once, here), creating it,
recognising one spanqa made (this format, or 0.2/0.3's), and passages <-> rows.

    passage fields     passage_id, text, title, path, url, start_char, end_char, metadata
    BM25               sparse: spanqa's BM25 term weights (weights.py), statistics in stats.py;
                       0.2/0.3 collections: filled by Milvus's BM25 function from `text` or `terms`
    sync bookkeeping   pk, source_hash, source_passages, closes_source (see retriever.py)
"""
import json
from typing import Any, Dict, List, NamedTuple, Optional

from ...results import Passage
from ..bm25_tokens import tokenize_queries
from . import stats

MAX_VARCHAR = 65_535  # Milvus's limit, in UTF-8 bytes
FORMAT = 2  # spanqa's BM25 weights + statistics collection (1: Milvus's BM25 function, 0.2/0.3)


class Field(NamedTuple):
    """One field of the collection; `passage` names the Passage attribute stored in it."""

    name: str
    dtype: str  # a pymilvus DataType name
    max_length: Optional[int] = None  # VARCHAR only
    passage: Optional[str] = None


FIELDS = (
    Field("pk", "VARCHAR", 64),
    Field("passage_id", "VARCHAR", MAX_VARCHAR, "id"),
    Field("text", "VARCHAR", MAX_VARCHAR, "text"),
    Field("sparse", "SPARSE_FLOAT_VECTOR"),
    Field("title", "VARCHAR", MAX_VARCHAR, "title"),
    Field("path", "VARCHAR", MAX_VARCHAR, "path"),
    Field("url", "VARCHAR", MAX_VARCHAR, "url"),
    Field("start_char", "INT64", None, "start_char"),
    Field("end_char", "INT64", None, "end_char"),
    Field("metadata", "JSON", None, "metadata"),
    Field("source_hash", "VARCHAR", 64),
    Field("source_passages", "INT64"),
    Field("closes_source", "BOOL"),
)
# 0.2/0.3 collections with the snowball analyzer: the stemmed tokens Milvus's BM25 function read.
TERMS = Field("terms", "VARCHAR", MAX_VARCHAR)
PASSAGE_FIELDS = [f.name for f in FIELDS if f.passage]  # what a search returns
DENSE = "dense"  # the sentence encoder's vector of the passage (collections made with mode dense or hybrid)


def passage_row(p: Passage) -> Dict[str, Any]:
    """The passage fields of a row; text cut to Milvus's limit stays a verbatim slice of the document."""
    row = {f.name: fit(getattr(p, f.passage) or "") if f.dtype == "VARCHAR" else getattr(p, f.passage)
           for f in FIELDS if f.passage}
    row["end_char"] -= len(p.text) - len(row["text"])
    return row


def row_passage(entity: Dict[str, Any]) -> Passage:
    """The Passage a search hit's entity holds."""
    values = {f.passage: entity.get(f.name) for f in FIELDS if f.passage}
    values.update(url=values["url"] or None, start_char=int(values["start_char"]), end_char=int(values["end_char"]),
                  metadata=dict(values["metadata"] or {}))
    return Passage(**values)


def snowball_query(queries: List[str], stopwords: bool) -> List[str]:
    """Queries of a 0.2/0.3 snowball collection as its `terms` field holds passages: stemmed tokens joined by spaces."""
    return [" ".join(t) for t in tokenize_queries(queries, stemming=True, stopwords=stopwords)]


class CollectionInfo(NamedTuple):
    """How a collection ranks: `format` 2 (spanqa's BM25 weights, see weights.py) or 1 (0.2/0.3: Milvus's BM25 function)."""

    format: int
    analyzer: str
    stopwords: bool
    k1: float
    b: float
    mode: str = "bm25"  # "dense" and "hybrid" collections have a DENSE field too
    encoder: Optional[str] = None  # the sentence encoder that filled it


def create_collection(client, collection: str, analyzer: str, stopwords: bool, k1: float, b: float,
                      mode: str = "bm25", encoder: Optional[str] = None, dim: int = 0) -> None:
    """Make the collection (FIELDS; `sparse` holds spanqa's BM25 weights, searched by inner product;
    with mode dense or hybrid also DENSE, `dim` floats from `encoder`) and its statistics."""
    from pymilvus import DataType, MilvusClient

    settings = {"format": FORMAT, "analyzer": analyzer, "stopwords": bool(stopwords), "k1": float(k1), "b": float(b),
                "mode": mode, "encoder": encoder if mode != "bm25" else None}
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    for f in FIELDS:
        options: Dict[str, Any] = {"max_length": f.max_length} if f.max_length else {}
        schema.add_field(f.name, getattr(DataType, f.dtype), is_primary=f.name == "pk", **options)
    index_params = client.prepare_index_params()
    index_params.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    if mode != "bm25":
        schema.add_field(DENSE, DataType.FLOAT_VECTOR, dim=int(dim))
        index_params.add_index(field_name=DENSE, index_type="AUTOINDEX", metric_type="COSINE")
    try:
        # The statistics first: a collection without them is not spanqa's, so a kill in between is re-created.
        stats.create(client, collection, settings)
        client.create_collection(collection, schema=schema, index_params=index_params, consistency_level="Strong")
    except Exception as err:
        raise ValueError(
            f"Could not create the collection {collection!r} ({getattr(err, 'message', err)}); "
            "spanqa needs Milvus 2.4 or newer (sparse vectors)."
        ) from None


def check_schema(client, uri: str, collection: str) -> CollectionInfo:
    """How the collection ranks; one clear error when something else made it."""
    from pymilvus import DataType, FunctionType

    info = client.describe_collection(collection)
    fields = {f["name"]: f for f in info["fields"]}
    wrong = [f.name for f in FIELDS if f.name not in fields or fields[f.name]["type"] != getattr(DataType, f.dtype)]
    bm25 = [f for f in info.get("functions", []) if f["type"] == FunctionType.BM25 and f["output_field_names"] == ["sparse"]]
    source = bm25[0]["input_field_names"][0] if bm25 else None
    settings = None if bm25 else stats.read_settings(client, collection)
    problem = None
    if wrong:
        problem = f"fields {', '.join(wrong)} are missing or of another type"
    elif bm25 and (source not in ("text", TERMS.name) or source not in fields):
        problem = "its BM25 function reads another field"
    elif not bm25 and not settings:
        problem = f"it has neither a BM25 function nor spanqa's statistics ({stats.stats_collection(collection)})"
    if problem:
        raise ValueError(
            f"The collection {collection!r} at {uri} was not made by spanqa ({problem}); "
            "pass another --collection, or drop this one."
        )
    if settings:
        mode = settings.get("mode") or "bm25"
        if mode != "bm25" and fields.get(DENSE, {}).get("type") != DataType.FLOAT_VECTOR:
            raise ValueError(f"The collection {collection!r} at {uri} was not made by spanqa (its {DENSE!r} field is "
                             "missing or of another type); pass another --collection, or drop this one.")
        return CollectionInfo(int(settings["format"]), settings["analyzer"], bool(settings["stopwords"]),
                              float(settings["k1"]), float(settings["b"]), mode, settings.get("encoder"))
    params = fields[source].get("params", {}).get("analyzer_params") or "{}"
    params = json.loads(params) if isinstance(params, str) else params
    stop = any(isinstance(f, dict) and f.get("type") == "stop" for f in params.get("filter") or [])
    k1, b = 1.5, 0.75  # applied by Milvus; spanqa does not need them
    if source == TERMS.name:
        return CollectionInfo(1, "snowball", stop, k1, b)
    analyzer = str(params.get("type") or params.get("tokenizer") or "standard")
    return CollectionInfo(1, analyzer, stop or analyzer == "english", k1, b)


def fit(text: str) -> str:
    """`text` cut to Milvus's VARCHAR limit (UTF-8 bytes), on a character boundary."""
    data = text.encode("utf8")
    return text if len(data) <= MAX_VARCHAR else data[:MAX_VARCHAR].decode("utf8", errors="ignore")
