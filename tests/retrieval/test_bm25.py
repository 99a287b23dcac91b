"""BM25 index: ranking with both backends, save/load, incremental and atomic rebuilds, clear errors."""
import pytest

from spacy_spanqa.results import Passage
from spacy_spanqa.retrieval import bm25_store, documents
from spacy_spanqa.retrieval.bm25 import BM25Index
from spacy_spanqa.retrieval.bm25_tokens import tokenize_queries
from spacy_spanqa.retrieval.bm25s_backend import BM25sScorer

from .handbook import FILES, QUERIES

BACKENDS = ["bm25s", "rank-bm25"]


def build(kb, path, **kwargs):
    return BM25Index.build(kb, path, progress=False, **kwargs)


def top_ids(index, queries=QUERIES):
    return [[p.id for p, _ in hits] for hits in index.search_many(list(queries), top_k=3)]


def test_one_tokenisation_lowercases_stems_and_drops_stopwords():
    assert tokenize_queries(["The Employees are WORKING at home"], stopwords=True) == [["employe", "work", "home"]]
    assert tokenize_queries(["The employees"], stemming=False, stopwords=False) == [["the", "employees"]]


def test_tokenisation_defaults_are_the_index_defaults():
    # Stopwords are kept unless asked for, as IndexSettings keeps them.
    assert tokenize_queries(["The Employees are WORKING at home"]) == [["the", "employe", "are", "work", "at", "home"]]


@pytest.mark.parametrize("backend", BACKENDS)
def test_search_ranks_the_right_passage_first(kb, tmp_path, backend):
    index = build(kb, tmp_path / "idx", backend=backend)
    assert index.backend == backend and len(index) == len(FILES)
    for query, expected in QUERIES.items():
        hits = index.search(query, top_k=3)
        assert hits[0][0].id == expected, query
        assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    passage, _ = index.search("gifts declined")[0]
    assert passage.url == "https://x.example/gifts" and passage.path == "policies.jsonl"


def test_backends_agree_on_the_top_passage(kb, tmp_path):
    tops = [[ids[0] for ids in top_ids(build(kb, tmp_path / b, backend=b))] for b in BACKENDS]
    assert tops[0] == tops[1] == list(QUERIES.values())


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mmap", [True, False])
def test_saved_index_loads_with_identical_results(kb, tmp_path, backend, mmap):
    built = build(kb, tmp_path / "idx", backend=backend)
    loaded = BM25Index.load(tmp_path / "idx", mmap=mmap)
    assert loaded.backend == backend and len(loaded) == len(built)
    assert loaded.search_many(list(QUERIES), 4) == built.search_many(list(QUERIES), 4)


def test_search_many_equals_search_one_by_one(kb, tmp_path):
    index = build(kb, tmp_path / "idx")
    assert index.search_many(list(QUERIES), 2) == [index.search(q, 2) for q in QUERIES]


def test_queries_without_indexed_words_find_nothing_and_top_k_is_capped(kb, tmp_path):
    index = build(kb, tmp_path / "idx", stopwords=True)
    assert index.search_many(["", "the of and", "zebra quantum"], 3) == [[], [], []]
    assert len(index.search("days hours reports leave home gifts help", top_k=100)) <= len(FILES)


def test_build_from_passages(tmp_path):
    passages = [Passage(f"p{i}", text, "t", "mem", None, 0, len(text)) for i, text in enumerate(
        ["Red apples grow on trees.", "Blue whales swim in oceans.", "Green frogs jump in ponds."])]
    index = BM25Index.build(passages, tmp_path / "idx", progress=False)
    assert index.search("whales")[0][0] == passages[1]


def test_rebuild_reads_only_added_or_changed_files(kb, tmp_path, monkeypatch):
    build(kb, tmp_path / "idx")
    parsed = []
    real_parse = documents.parse_file
    monkeypatch.setattr(documents, "parse_file", lambda path, rel, data: parsed.append(rel) or real_parse(path, rel, data))

    (kb / "hours.txt").write_text("Core working hours are from nine to four on weekdays.", encoding="utf8")
    (kb / "parking.txt").write_text("Parking spaces are in the basement garage.", encoding="utf8")
    (kb / "remote.txt").unlink()
    index = build(kb, tmp_path / "idx")

    assert sorted(parsed) == ["hours.txt", "parking.txt"]
    assert index.report.removed == ["remote.txt"] and not index.report.full_rebuild
    assert sorted(index.report.reused) == sorted(set(FILES) - {"hours.txt", "remote.txt"})
    assert "nine to four" in index.search("core working hours")[0][0].text
    assert index.search("parking garage")[0][0].id == "parking.txt#0"
    assert all(p.path != "remote.txt" for p, _ in index.search("work from home", top_k=10))
    # Reused passages and tokens score exactly as a fresh full build does.
    fresh = build(kb, tmp_path / "fresh")
    assert top_ids(index) == top_ids(fresh)
    assert set(fresh.manifest["files"]) == set(index.manifest["files"])


def test_unchanged_folder_keeps_the_live_build(kb, tmp_path, monkeypatch):
    build(kb, tmp_path / "idx")
    live = bm25_store.live_build(tmp_path / "idx")
    monkeypatch.setattr(documents, "parse_file", lambda *a: pytest.fail("an unchanged file was re-read"))
    index = build(kb, tmp_path / "idx")
    assert bm25_store.live_build(tmp_path / "idx") == live
    assert sorted(index.report.reused) == sorted(FILES) and index.report.read == []


def test_changed_settings_rebuild_everything(kb, tmp_path):
    build(kb, tmp_path / "idx")
    index = build(kb, tmp_path / "idx", stemming=False, backend="rank-bm25")
    assert index.report.full_rebuild and sorted(index.report.read) == sorted(FILES)
    assert BM25Index.load(tmp_path / "idx").settings.stemming is False
    assert BM25Index.load(tmp_path / "idx").backend == "rank-bm25"


def test_crash_mid_build_leaves_the_old_index_loadable(kb, tmp_path, monkeypatch):
    path = tmp_path / "idx"
    before = top_ids(build(kb, path))

    def crash(self, folder):
        (folder / "bm25s").mkdir()
        (folder / "bm25s" / "data.csc.index.npy").write_bytes(b"half-written")
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(BM25sScorer, "save", crash)
    (kb / "vacation.md").write_text("Vacation is now 30 days.", encoding="utf8")
    with pytest.raises(KeyboardInterrupt):
        build(kb, path)
    monkeypatch.undo()
    assert top_ids(BM25Index.load(path)) == before
    assert [p.name for p in path.iterdir() if p.name.startswith("build-")] == [bm25_store.live_build(path).name]


def test_leftover_unfinished_build_is_ignored_then_cleaned(kb, tmp_path):
    path = tmp_path / "idx"
    build(kb, path)
    (path / "build-killed").mkdir()
    (path / "build-killed" / "passages.jsonl").write_text("{", encoding="utf8")
    assert len(BM25Index.load(path)) == len(FILES)
    (kb / "extra.txt").write_text("Something new.", encoding="utf8")
    build(kb, path)
    assert not (path / "build-killed").exists()


def test_missing_index_is_one_clear_error(tmp_path):
    with pytest.raises(ValueError, match=r"^No index at .*nothing; build it with `spanqa index FOLDER --index .*nothing`\.$"):
        BM25Index.load(tmp_path / "nothing")


def test_damaged_index_is_one_clear_error(kb, tmp_path):
    build(kb, tmp_path / "idx")
    (bm25_store.live_build(tmp_path / "idx") / "vocab.json").unlink()
    with pytest.raises(ValueError, match=r"^The index at .* is damaged .*rebuild it with `spanqa index"):
        BM25Index.load(tmp_path / "idx")
    # Rebuilding repairs it, even though no file changed.
    assert build(kb, tmp_path / "idx").report.full_rebuild
    assert top_ids(BM25Index.load(tmp_path / "idx"))[0][0] == "vacation.md#0"


def test_build_refuses_unknown_backends_and_non_index_folders(kb, tmp_path):
    with pytest.raises(ValueError, match="Unknown BM25 backend 'lucene'; choose one of: bm25s, rank-bm25"):
        build(kb, tmp_path / "idx", backend="lucene")
    with pytest.raises(ValueError, match="not a spanqa index"):
        build(kb, kb)
    assert sorted(p.name for p in kb.iterdir()) == sorted(FILES)


def test_index_kept_inside_the_knowledge_base_is_not_indexed(kb):
    build(kb, kb / ".." / "kb" / "index")
    index = build(kb, kb / "index")
    assert set(index.manifest["files"]) == set(FILES)


def test_concurrent_searches_return_the_same_results(kb, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    index = build(kb, tmp_path / "idx")
    expected = [index.search(q, 3) for q in QUERIES]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            assert list(pool.map(lambda q: index.search(q, 3), list(QUERIES))) == expected


def test_sync_updates_the_index_in_place_and_describe_names_it(kb, tmp_path):
    from spacy_spanqa.retrieval import Retriever, open_retriever

    build(kb, tmp_path / "idx", backend="rank-bm25")
    index = open_retriever(tmp_path / "idx")
    assert isinstance(index, BM25Index) and isinstance(index, Retriever)
    (kb / "parking.txt").write_text("Parking spaces are in the basement garage.", encoding="utf8")
    report = index.sync(kb)
    assert report.read == ["parking.txt"] and sorted(report.reused) == sorted(FILES)
    assert len(index) == len(FILES) + 1 and index.search("parking garage")[0][0].id == "parking.txt#0"
    described = index.describe()
    assert described["backend"] == "rank-bm25" and described["passages"] == len(FILES) + 1
    assert described["index"] == str(tmp_path / "idx") and described["settings"]["max_words"] == 120
    assert open_retriever(index) is index
