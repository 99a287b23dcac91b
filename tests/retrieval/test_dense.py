"""Dense and hybrid folder indexes: the sentence encoder finds paraphrases, syncs re-encode only what changed."""
import json

import numpy as np
import pytest

from spacy_spanqa.retrieval import bm25_store, dense
from spacy_spanqa.retrieval.bm25 import BM25Index
from spacy_spanqa.retrieval.encoder import SentenceEncoder, shared_encoder
from spacy_spanqa.retrieval.settings import IndexSettings

from .handbook import FILES, QUERIES

PARAPHRASE = "Who runs IT support?"  # no word of it is in "The help desk is led by Priya Raman."
# What 0.3 wrote as the manifest's "settings" (the same keys as 0.2): no mode, no encoder.
SETTINGS_0_3 = {"backend": "bm25s", "k1": 1.5, "b": 0.75, "stemming": True, "stopwords": False,
                "max_words": 120, "overlap_sentences": 1, "format": 1}


@pytest.fixture
def encoded(monkeypatch):
    """The texts the sentence encoder is asked to encode as passages, in call order."""
    texts = []
    encode = SentenceEncoder.encode

    def counting(self, batch, *, progress=False):
        texts.extend(batch)
        return encode(self, batch, progress=progress)

    monkeypatch.setattr(SentenceEncoder, "encode", counting)
    return texts


def test_encoder_gives_unit_float32_rows_and_similar_meanings_score_higher():
    encoder = shared_encoder(IndexSettings.encoder)
    vectors = encoder.encode(["New hires get 25 vacation days per year.", "The help desk is led by Priya Raman."])
    query = encoder.encode_queries(["How much paid time off do I get?"])
    assert vectors.shape == (2, encoder.dim) == (2, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert (vectors @ query[0])[0] > (vectors @ query[0])[1]
    assert encoder.encode([]).shape == (0, 384)


def test_unloadable_encoder_is_one_clear_error(tmp_path):
    with pytest.raises(ValueError, match=r"Could not load the sentence encoder .*pip install spacy-spanqa\[dense\]"):
        SentenceEncoder.load("not a model name!")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="Could not load the sentence encoder"):
        SentenceEncoder.load(str(tmp_path / "empty"))


def test_paraphrase_without_shared_words_is_found_by_dense_and_hybrid_not_bm25(kb, tmp_path):
    found = {mode: BM25Index.build(kb, tmp_path / mode, mode=mode, progress=False).search(PARAPHRASE, 1)
             for mode in ("bm25", "dense", "hybrid")}
    assert found["bm25"] == []
    assert found["dense"][0][0].id == found["hybrid"][0][0].id == "it.html#0"


@pytest.mark.parametrize("mode", ["dense", "hybrid"])
def test_dense_and_hybrid_rank_the_handbook_and_survive_reload(kb, tmp_path, mode):
    index = BM25Index.build(kb, tmp_path / "idx", mode=mode, progress=False)
    assert all(index.search(q, 1)[0][0].id == want for q, want in QUERIES.items() if q != "gifts declined")
    loaded = BM25Index.load(tmp_path / "idx")
    assert loaded.mode == mode and loaded.describe()["settings"]["mode"] == mode
    for query in [*QUERIES, PARAPHRASE]:
        before, after = index.search(query, 3), loaded.search(query, 3)
        assert [p.id for p, _ in before] == [p.id for p, _ in after]
        assert np.allclose([s for _, s in before], [s for _, s in after])


def test_sync_encodes_only_added_and_changed_files(kb, tmp_path, encoded):
    index = BM25Index.build(kb, tmp_path / "idx", mode="hybrid", progress=False)
    assert len(encoded) == len(index) == len(FILES)
    encoded.clear()
    (kb / "hours.txt").write_text("Core working hours are from nine to five on weekdays.", encoding="utf8")
    (kb / "parking.md").write_text("Staff park for free in the garage under building B.", encoding="utf8")
    (kb / "leave.txt").unlink()
    report = index.sync(kb)
    assert sorted(report.read) == ["hours.txt", "parking.md"] and report.removed == ["leave.txt"]
    assert sorted(encoded) == ["Core working hours are from nine to five on weekdays.",
                               "Staff park for free in the garage under building B."]
    assert index.search("Where can I leave my car?", 1)[0][0].id == "parking.md#0"
    # The reused vectors sit in the right rows: every stored row is its passage's own encoding.
    fresh = shared_encoder(IndexSettings.encoder).encode([index.passage(i).text for i in range(len(index))])
    assert np.allclose(np.asarray(index.vectors, dtype=np.float32), fresh, atol=2e-3)
    encoded.clear()
    assert index.sync(kb).read == [] and encoded == []


def test_index_written_by_0_3_loads_as_bm25_and_switching_to_hybrid_encodes_everything(kb, tmp_path, encoded):
    BM25Index.build(kb, tmp_path / "idx", progress=False)
    build = bm25_store.live_build(tmp_path / "idx")
    bm25_store.write_manifest(build, {**bm25_store.read_manifest(build), "settings": SETTINGS_0_3})
    loaded = BM25Index.load(tmp_path / "idx")
    assert loaded.mode == "bm25" and loaded.search("When are expense reports due?")[0][0].id == "expenses.md#0"
    assert not loaded.sync(kb).full_rebuild and encoded == []
    hybrid = BM25Index.build(kb, tmp_path / "idx", mode="hybrid", progress=False)
    assert hybrid.report.full_rebuild and len(encoded) == len(hybrid)
    assert BM25Index.load(tmp_path / "idx").search(PARAPHRASE, 1)[0][0].id == "it.html#0"


def test_missing_vectors_are_a_clear_error_and_the_next_sync_rebuilds_them(kb, tmp_path):
    BM25Index.build(kb, tmp_path / "idx", mode="dense", progress=False)
    (bm25_store.live_build(tmp_path / "idx") / dense.VECTORS).unlink()
    with pytest.raises(ValueError, match=r"damaged or from another version.*`spanqa index FOLDER --index .* --dense`"):
        BM25Index.load(tmp_path / "idx")
    rebuilt = BM25Index.build(kb, tmp_path / "idx", mode="dense", progress=False)
    assert rebuilt.report.full_rebuild and rebuilt.search(PARAPHRASE, 1)[0][0].id == "it.html#0"


def test_unknown_mode_is_one_clear_error(kb, tmp_path):
    with pytest.raises(ValueError, match="Unknown retrieval mode 'semantic'; choose one of: bm25, dense, hybrid."):
        BM25Index.build(kb, tmp_path / "idx", mode="semantic", progress=False)
    assert not (tmp_path / "idx").exists()


def test_cli_index_dense_and_hybrid(kb, tmp_path):
    from typer.testing import CliRunner

    from spacy_spanqa.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["index", str(kb), "--index", str(tmp_path / "idx"), "--dense", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["mode"] == "dense" and summary["passages"] == len(FILES)
    assert BM25Index.load(tmp_path / "idx").search(PARAPHRASE, 1)[0][0].id == "it.html#0"
    result = runner.invoke(app, ["index", str(kb), "--index", str(tmp_path / "idx"), "--dense", "--hybrid"])
    assert result.exit_code != 0 and "Give one of --bm25, --dense or --hybrid" in str(result.exception)
    # Re-indexing without a flag syncs the index as what it is; --bm25 turns it back.
    (kb / "parking.md").write_text("Staff park for free in the garage under building B.", encoding="utf8")
    result = runner.invoke(app, ["index", str(kb), "--index", str(tmp_path / "idx"), "--json"])
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["mode"] == "dense" and summary["sync"]["read"] == ["parking.md"]
    result = runner.invoke(app, ["index", str(kb), "--index", str(tmp_path / "idx"), "--bm25", "--json"])
    assert json.loads(result.stdout.strip().splitlines()[-1])["mode"] == "bm25"


def test_a_bm25_index_asked_to_rank_by_vectors_says_how_to_rebuild(kb, tmp_path):
    index = BM25Index.build(kb, tmp_path / "idx", progress=False)
    with pytest.raises(ValueError, match=r"has no passage vectors; rebuild it with .*--hybrid"):
        index.rank([PARAPHRASE], 1, mode="hybrid")


def test_a_backend_refuses_a_mode_it_does_not_list_before_connecting(kb, tmp_path, monkeypatch):
    from spacy_spanqa.retrieval import sync_index
    from spacy_spanqa.retrieval.milvus import MilvusRetriever

    monkeypatch.setattr(MilvusRetriever, "modes", ("bm25",))
    with pytest.raises(ValueError, match="Milvus indexes do not rank by 'dense' yet; index a folder"):
        sync_index(kb, tmp_path / "kb.db", mode="dense")
    assert not (tmp_path / "kb.db").exists()
