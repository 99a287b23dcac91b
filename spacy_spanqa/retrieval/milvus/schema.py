"""The collection spanqa keeps in Milvus: its fields (declared once, here), the analyzer of
the BM25 input, creating the collection, recognising one spanqa made, and passages <-> rows.

    passage fields     passage_id, text, title, path, url, start_char, end_char, metadata
    BM25               sparse, filled by Milvus's BM25 function from `text` (or `terms`, snowball)
    sync bookkeeping   pk, source_hash, source_passages, closes_source (see retriever.py)
"""
import json
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

from bm25s.stopwords import STOPWORDS_EN

from ...results import Passage
from ..bm25_tokens import tokenize_queries, tokenize_texts

MAX_VARCHAR = 65_535  # Milvus's limit, in UTF-8 bytes


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
# With the snowball analyzer, the stemmed tokens spanqa makes (the BM25 input), right after `text`.
TERMS = Field("terms", "VARCHAR", MAX_VARCHAR)
PASSAGE_FIELDS = [f.name for f in FIELDS if f.passage]  # what a search returns


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


def snowball_terms(texts: List[str], stopwords: bool) -> List[str]:
    """The folder index's tokens of each text (lowercased, Snowball-stemmed), joined by spaces: the `terms` field."""
    if not texts:
        return []
    flat, lengths, vocab = tokenize_texts(texts, stemming=True, stopwords=stopwords)
    tokens = [vocab[i] for i in flat.tolist()]
    out, start = [], 0
    for n in lengths.tolist():
        out.append(fit(" ".join(tokens[start : start + n])))
        start += n
    return out


def snowball_query(queries: List[str], stopwords: bool) -> List[str]:
    """Queries as the `terms` field holds passages: stemmed tokens joined by spaces."""
    return [" ".join(t) for t in tokenize_queries(queries, stemming=True, stopwords=stopwords)]


def analyzer_params(analyzer: str, stopwords: bool) -> Dict[str, Any]:
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


def create_collection(client, collection: str, analyzer: str, stopwords: bool, k1: float, b: float) -> None:
    """Make the collection: FIELDS, the analyzer on the BM25 input, the BM25 function and its index."""
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    bm25_input = TERMS.name if analyzer == "snowball" else "text"
    for f in _with_terms() if analyzer == "snowball" else FIELDS:
        options: Dict[str, Any] = {"max_length": f.max_length} if f.max_length else {}
        if f.name == "pk":
            options["is_primary"] = True
        if f.name == bm25_input:
            options.update(enable_analyzer=True, analyzer_params=analyzer_params(analyzer, stopwords))
        schema.add_field(f.name, getattr(DataType, f.dtype), **options)
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


def check_schema(client, uri: str, collection: str) -> Tuple[str, bool]:
    """The collection's analyzer and whether it drops stopwords; one clear error when something else made it."""
    from pymilvus import DataType, FunctionType

    info = client.describe_collection(collection)
    fields = {f["name"]: f for f in info["fields"]}
    wrong = [f.name for f in FIELDS if f.name not in fields or fields[f.name]["type"] != getattr(DataType, f.dtype)]
    bm25 = [f for f in info.get("functions", []) if f["type"] == FunctionType.BM25 and f["output_field_names"] == ["sparse"]]
    source = bm25[0]["input_field_names"][0] if bm25 else None
    if wrong or source not in ("text", TERMS.name) or source not in fields:
        problem = f"fields {', '.join(wrong)} are missing or of another type" if wrong else "it has no BM25 function filling 'sparse'"
        raise ValueError(
            f"The collection {collection!r} at {uri} was not made by spanqa ({problem}); "
            "pass another --collection, or drop this one."
        )
    params = fields[source].get("params", {}).get("analyzer_params") or "{}"
    params = json.loads(params) if isinstance(params, str) else params
    stop = any(isinstance(f, dict) and f.get("type") == "stop" for f in params.get("filter") or [])
    if source == TERMS.name:
        return "snowball", stop
    analyzer = str(params.get("type") or params.get("tokenizer") or "standard")
    return analyzer, stop or analyzer == "english"


def _with_terms() -> List[Field]:
    """FIELDS with `terms` just before `sparse`, the BM25 output it fills."""
    at = [f.name for f in FIELDS].index("sparse")
    return [*FIELDS[:at], TERMS, *FIELDS[at:]]


def fit(text: str) -> str:
    """`text` cut to Milvus's VARCHAR limit (UTF-8 bytes), on a character boundary."""
    data = text.encode("utf8")
    return text if len(data) <= MAX_VARCHAR else data[:MAX_VARCHAR].decode("utf8", errors="ignore")
