"""Retrieval settings have one home, and indexes built by 0.2 keep loading and syncing incrementally."""
import json
from dataclasses import asdict

import pytest

from spacy_spanqa.results import Passage
from spacy_spanqa.retrieval import bm25_store, sync_index
from spacy_spanqa.retrieval.bm25 import BM25Index
from spacy_spanqa.retrieval.milvus.schema import PASSAGE_FIELDS, passage_row, row_passage
from spacy_spanqa.retrieval.settings import DEFAULT_ENCODER, IndexSettings, MilvusSettings, PassageSettings

from .handbook import FILES

# What 0.2 wrote as the manifest's "settings": asdict of its IndexSettings, in its field order.
SETTINGS_0_2 = {"backend": "bm25s", "k1": 1.5, "b": 0.75, "stemming": True, "stopwords": False,
                "max_words": 120, "overlap_sentences": 1, "format": 1}


def test_stored_settings_keep_the_keys_and_defaults_0_2_wrote():
    # 0.4 adds the retrieval mode and its encoder; a manifest without them means BM25, as before.
    assert asdict(IndexSettings()) == {**SETTINGS_0_2, "mode": "bm25", "encoder": DEFAULT_ENCODER}
    assert IndexSettings(**SETTINGS_0_2) == IndexSettings()


def test_index_built_by_0_2_loads_and_an_unchanged_folder_is_not_rebuilt(kb, tmp_path):
    BM25Index.build(kb, tmp_path / "idx", progress=False)
    build = bm25_store.live_build(tmp_path / "idx")
    manifest = bm25_store.read_manifest(build)
    bm25_store.write_manifest(build, {**manifest, "settings": SETTINGS_0_2})
    lines = [json.loads(line) for line in bm25_store.read_passage_lines(build)]
    bm25_store.write_passages(build, [json.dumps({k: v for k, v in p.items() if k != "document_id"}) for p in lines])

    loaded = BM25Index.load(tmp_path / "idx")
    passage = loaded.search("How many vacation days do new hires get?")[0][0]
    assert passage.id == "vacation.md#0" and passage.document_id == "vacation.md"
    report = loaded.sync(kb)
    assert not report.full_rebuild and report.read == [] and sorted(report.reused) == sorted(FILES)
    assert bm25_store.live_build(tmp_path / "idx") == build


def test_build_takes_a_settings_object_or_its_fields_by_name(kb, tmp_path):
    by_object = BM25Index.build(kb, tmp_path / "a", IndexSettings(backend="rank-bm25", k1=1.2), progress=False)
    by_name = sync_index(kb, tmp_path / "b", backend="rank-bm25", k1=1.2)
    both = BM25Index.build(kb, tmp_path / "c", IndexSettings(backend="rank-bm25"), k1=1.2, progress=False)
    assert by_object.settings == by_name.settings == both.settings == IndexSettings(backend="rank-bm25", k1=1.2)
    with pytest.raises(TypeError, match="A folder index takes IndexSettings, not MilvusSettings"):
        sync_index(kb, tmp_path / "d", settings=MilvusSettings())


def test_bad_passage_settings_are_one_clear_error_before_any_work(tmp_path):
    with pytest.raises(ValueError, match=r"^max_words must be >= 1 and overlap_sentences >= 0 \(got 0, 1\)\.$"):
        PassageSettings(max_words=0)
    with pytest.raises(ValueError, match="max_words must be >= 1"):
        MilvusSettings(max_words=0)
    with pytest.raises(ValueError, match="max_words must be >= 1"):
        BM25Index.build(tmp_path / "nowhere", tmp_path / "idx", max_words=0)


def test_every_backend_shares_the_bm25_and_passage_defaults():
    assert IndexSettings().k1 == MilvusSettings().k1 and IndexSettings().b == MilvusSettings().b
    assert IndexSettings().stopwords == MilvusSettings().stopwords
    assert IndexSettings().max_words == MilvusSettings().max_words == PassageSettings().max_words


def test_milvus_row_holds_every_passage_field_and_gives_the_passage_back():
    p = Passage("a.md#0", "Some text.", "A", "a.md", "https://x.example/a", 3, 13, {"k": 1}, "a.md")
    row = passage_row(p)
    assert sorted(row) == sorted(PASSAGE_FIELDS)
    assert row_passage(row) == p
    assert row_passage({**row, "url": ""}).url is None
