"""The Milvus retriever against the real engine: Milvus Lite in a .db path, and a Milvus Lite server over http on loopback."""
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from spacy_spanqa.retrieval import documents, open_retriever, sync_index  # noqa: E402
from spacy_spanqa.retrieval.bm25 import BM25Index  # noqa: E402
from spacy_spanqa.retrieval.milvus import MilvusRetriever  # noqa: E402
from .handbook import FILES, QUERIES  # noqa: E402  (the same knowledge base as the BM25 tests)


def top_ids(retriever, queries=QUERIES, k=3):
    return [[p.id for p, _ in hits] for hits in retriever.search_many(list(queries), k)]


def best_ids(retriever, queries=QUERIES):
    """The top 3 passages per query: a synced index must rank as a fresh build. (Scores may differ by up to
    REWEIGHT_DRIFT: rows keep the weights of the average passage length when they were written, within it.)"""
    return top_ids(retriever, queries, 3)


def statistics(retriever):
    """The BM25 statistics the collection keeps: passages, tokens and document frequencies."""
    corpus = retriever.stats.corpus
    return corpus.passages, corpus.tokens, corpus.df


def stored(retriever):
    """Every row's (passage id, text), sorted: what a search could ever return."""
    rows = retriever._scan("", ["passage_id", "text"])
    return sorted((row["passage_id"], row["text"]) for row in rows)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def milvus_server(tmp_path_factory):
    """A real `milvus-lite server` process on 127.0.0.1, reached over gRPC like a Milvus cluster."""
    port = free_port()
    cli = Path(sys.executable).with_name("milvus-lite")
    process = subprocess.Popen(
        [str(cli), "server", "--host", "127.0.0.1", "--port", str(port),
         "--data-dir", str(tmp_path_factory.mktemp("milvus-data"))],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("the milvus-lite server did not start")
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=30)


def test_lite_db_ranks_the_right_passage_first_with_citations(kb, tmp_path):
    retriever = sync_index(kb, tmp_path / "kb.db")
    assert retriever.backend == "milvus-lite" and len(retriever) == len(FILES)
    for query, expected in QUERIES.items():
        hits = retriever.search(query, top_k=3)
        assert hits[0][0].id == expected, query
        assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True) and hits[0][1] > 0
    passage, _ = retriever.search("gifts declined")[0]
    assert passage.url == "https://x.example/gifts" and passage.path == "policies.jsonl"
    vacation = retriever.search("vacation days")[0][0]
    assert FILES["vacation.md"][vacation.start_char : vacation.end_char] == vacation.text
    assert vacation.title == "Vacation"
    assert retriever.search_many(["", "???"], 3) == [[], []]


def test_lite_and_bm25s_rank_the_same_top_passages(kb, tmp_path):
    milvus = sync_index(kb, tmp_path / "kb.db")
    bm25s = BM25Index.build(kb, tmp_path / "idx", progress=False)
    assert [ids[0] for ids in top_ids(milvus)] == [ids[0] for ids in top_ids(bm25s)] == list(QUERIES.values())


def test_server_url_is_served_by_the_same_code(kb, milvus_server):
    built = sync_index(kb, milvus_server, collection="handbook")
    assert built.backend == "milvus" and built.report.full_rebuild
    opened = open_retriever(milvus_server, collection="handbook")
    assert len(opened) == len(FILES)
    assert [ids[0] for ids in top_ids(opened)] == list(QUERIES.values())
    assert opened.describe()["collection"] == "handbook" and opened.describe()["index"] == milvus_server
    (kb / "hours.txt").write_text("Core working hours are from nine to four on weekdays.", encoding="utf8")
    report = opened.sync(kb)
    assert report.read == ["hours.txt"] and "nine to four" in opened.search("hours from nine to four")[0][0].text
    fresh = sync_index(kb, milvus_server, collection="handbook_fresh")
    assert best_ids(opened) == best_ids(fresh) and statistics(opened) == statistics(fresh)


def test_a_sync_by_another_client_changes_the_statistics_every_searcher_uses(kb, milvus_server):
    writer = sync_index(kb, milvus_server, collection="shared")
    reader = open_retriever(milvus_server, collection="shared")
    before = reader.search("vacation days")[0][1]
    for n in range(5):  # five more passages with "vacation": its IDF drops for every searcher
        (kb / f"vacation{n}.txt").write_text(f"Vacation note {n}.", encoding="utf8")
    writer.sync(kb)
    after = reader.search("vacation days")[0][1]
    assert after < before and statistics(reader) == statistics(writer)


def test_standard_analyzer_on_the_server(kb, milvus_server):
    retriever = sync_index(kb, milvus_server, collection="standard", analyzer="standard")
    assert retriever.analyzer == "standard" and open_retriever(milvus_server, "standard").analyzer == "standard"
    assert retriever.search("Who leads the help desk?")[0][0].id == "it.html#0"
    with pytest.raises(ValueError, match=r"uses the 'standard' analyzer, not 'snowball'; pass --analyzer standard"):
        sync_index(kb, milvus_server, collection="standard")


def test_stopwords_setting_is_kept_by_the_collection(kb, tmp_path):
    retriever = sync_index(kb, tmp_path / "kb.db", stopwords=True)
    reopened = open_retriever(tmp_path / "kb.db")
    assert reopened.stopwords is True and reopened.describe()["settings"]["stopwords"] is True
    assert [ids[0] for ids in top_ids(reopened)] == list(QUERIES.values())
    assert reopened.search_many(["the of and"], 3) == [[]]
    retriever.close()
    with pytest.raises(ValueError, match=r"was made with stopwords dropped; pass --stopwords, or another --collection\.$"):
        sync_index(kb, tmp_path / "kb.db")


def test_sync_reads_only_added_or_changed_files_and_deletes_removed_ones(kb, tmp_path, monkeypatch):
    retriever = sync_index(kb, tmp_path / "kb.db")
    parsed = []
    real_parse = documents.parse_file
    monkeypatch.setattr(documents, "parse_file", lambda path, rel, data: parsed.append(rel) or real_parse(path, rel, data))

    assert retriever.sync(kb).reused == sorted(FILES) and parsed == []
    (kb / "hours.txt").write_text("Core working hours are from nine to four on weekdays.", encoding="utf8")
    (kb / "parking.txt").write_text("Parking spaces are in the basement garage.", encoding="utf8")
    (kb / "remote.txt").unlink()
    report = retriever.sync(kb)

    assert sorted(parsed) == sorted(report.read) == ["hours.txt", "parking.txt"]
    assert report.removed == ["remote.txt"] and not report.full_rebuild
    assert "nine to four" in retriever.search("hours from nine to four")[0][0].text
    assert retriever.search("parking garage")[0][0].id == "parking.txt#0"
    fresh = sync_index(kb, tmp_path / "fresh.db")
    assert stored(retriever) == stored(fresh) and best_ids(retriever) == best_ids(fresh)
    assert statistics(retriever) == statistics(fresh)


def test_identical_files_at_two_paths_are_both_kept(kb, tmp_path):
    (kb / "copy.md").write_text((kb / "vacation.md").read_text(encoding="utf8"), encoding="utf8")
    retriever = sync_index(kb, tmp_path / "kb.db")
    assert len(retriever) == len(FILES) + 1
    assert {p.path for p, _ in retriever.search("vacation days", 2)} == {"vacation.md", "copy.md"}


def test_statistics_deleted_by_hand_are_rebuilt_by_the_next_sync(kb, tmp_path):
    retriever = sync_index(kb, tmp_path / "kb.db")
    lost = next(v for v, path in retriever.stats.paths.items() if path == "vacation.md")
    retriever.stats.delete([lost])
    report = retriever.sync(kb)
    fresh = sync_index(kb, tmp_path / "fresh.db")
    assert report.read == ["vacation.md"] and stored(retriever) == stored(fresh)
    assert statistics(retriever) == statistics(fresh) and best_ids(retriever) == best_ids(fresh)


@pytest.mark.parametrize("kill_at", ["rows written, closing rows not", "closing rows written, old version not deleted"])
def test_sync_interrupted_part_way_keeps_a_usable_index_and_a_rerun_converges(kb, tmp_path, monkeypatch, kill_at):
    retriever = sync_index(kb, tmp_path / "kb.db")
    (kb / "hours.txt").write_text("Core working hours are from nine to four. " * 40 + "Lunch is at noon.", encoding="utf8")
    (kb / "parking.txt").write_text("Parking spaces are in the basement garage.", encoding="utf8")
    client = retriever.client
    real_insert, real_delete = client.insert, client.delete

    def insert(collection, rows, **kwargs):
        if kill_at.startswith("rows") and any(row["closes_source"] for row in rows):
            raise KeyboardInterrupt("killed")
        return real_insert(collection, rows, **kwargs)

    def delete(collection, **kwargs):
        if kill_at.startswith("closing") and "source_hash !=" in kwargs.get("filter", ""):
            raise KeyboardInterrupt("killed")
        return real_delete(collection, **kwargs)

    monkeypatch.setattr(client, "insert", insert)
    monkeypatch.setattr(client, "delete", delete)
    with pytest.raises(KeyboardInterrupt):
        retriever.sync(kb)
    monkeypatch.undo()
    assert retriever.search("core working hours")[0][0].path == "hours.txt"  # never missing mid-update

    reopened = open_retriever(tmp_path / "kb.db")
    report = reopened.sync(kb)
    fresh = sync_index(kb, tmp_path / "fresh.db")
    assert stored(reopened) == stored(fresh) and len(reopened) == len(fresh)
    assert best_ids(reopened) == best_ids(fresh) and statistics(reopened) == statistics(fresh)
    assert "hours.txt" in report.read or kill_at.startswith("closing")


KILLED_SYNC = """
import os, signal, sys
from spacy_spanqa.retrieval import open_retriever
retriever = open_retriever(sys.argv[1])
real_insert = retriever.client.insert
def insert(collection, rows, **kwargs):
    result = real_insert(collection, rows, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
retriever.client.insert = insert
retriever.sync(sys.argv[2])
"""


def test_sync_killed_by_sigkill_converges_on_the_next_run(kb, tmp_path):
    db = tmp_path / "kb.db"
    sync_index(kb, db).close()
    for n in range(30):
        (kb / f"new{n}.txt").write_text(f"Fact number {n}. " * 100, encoding="utf8")
    (kb / "vacation.md").unlink()
    child = subprocess.run([sys.executable, "-c", KILLED_SYNC, str(db), str(kb)], env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert child.returncode == -9

    reopened = open_retriever(db)
    reopened.sync(kb)
    fresh = sync_index(kb, tmp_path / "fresh.db")
    assert stored(reopened) == stored(fresh)
    assert best_ids(reopened) == best_ids(fresh) and statistics(reopened) == statistics(fresh)


def test_empty_folder_is_an_error_and_deletes_nothing(kb, tmp_path):
    retriever = sync_index(kb, tmp_path / "kb.db")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=r"^No documents found in .*empty; supported: "):
        retriever.sync(empty)
    assert len(retriever) == len(FILES)


def test_unreachable_server_is_one_clear_error():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ValueError, match=rf"^Cannot reach a Milvus server at {url} \(.*\); start it, or fix the URL given to --index\.$"):
        MilvusRetriever.connect(url, timeout=2)


def test_missing_extra_names_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pymilvus", None)
    with pytest.raises(ValueError, match=r'^Milvus support is not installed; install it with `pip install "spacy-spanqa\[milvus\]"`\.$'):
        open_retriever(tmp_path / "kb.db")


def test_missing_collection_and_bad_paths_are_clear_errors(kb, tmp_path):
    sync_index(kb, tmp_path / "kb.db")
    with pytest.raises(ValueError, match=r"^There is no collection 'other' at .*kb.db; create it with `spanqa index FOLDER --index .*kb.db --collection other`\.$"):
        open_retriever(tmp_path / "kb.db", collection="other")
    (tmp_path / "notes.db").write_text("a SQLite file, say", encoding="utf8")
    with pytest.raises(ValueError, match=r"notes.db is a file, not a Milvus Lite database; give a new path ending in \.db\.$"):
        open_retriever(tmp_path / "notes.db")
    with pytest.raises(ValueError, match=r"^The folder .*missing for the Milvus Lite database .* does not exist; create it first\.$"):
        open_retriever(tmp_path / "missing" / "kb.db")


def test_db_open_in_another_process_is_one_clear_error(kb, tmp_path):
    import fcntl

    sync_index(kb, tmp_path / "kb.db").close()
    with open(tmp_path / "kb.db" / "LOCK", "a") as lock:  # what the other process's Milvus Lite holds
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(ValueError, match=r"^Another process has the Milvus Lite database .*kb.db open"):
            open_retriever(tmp_path / "kb.db")
    assert len(open_retriever(tmp_path / "kb.db")) == len(FILES)


def test_collection_made_by_something_else_is_refused(tmp_path):
    from pymilvus import DataType, MilvusClient

    client = MilvusClient(uri=str(tmp_path / "other.db"))
    schema = MilvusClient.create_schema(auto_id=True)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=4)
    client.create_collection("spanqa", schema=schema)
    with pytest.raises(ValueError, match=r"^The collection 'spanqa' at .*other.db was not made by spanqa \(fields .* are missing or of another type\); pass another --collection, or drop this one\.$"):
        open_retriever(tmp_path / "other.db")


def make_0_3_collection(uri, kb, collection="spanqa"):
    """A collection as spanqa 0.3 wrote it: Milvus's BM25 function on `text` (standard analyzer), metric BM25."""
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    from spacy_spanqa.retrieval.milvus import schema
    from spacy_spanqa.retrieval.passages import source_passages

    client = MilvusClient(uri=str(uri))
    fields = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    for f in schema.FIELDS:
        options = {"max_length": f.max_length} if f.max_length else {}
        if f.name == "text":
            options.update(enable_analyzer=True, analyzer_params={"tokenizer": "standard", "filter": ["lowercase"]})
        fields.add_field(f.name, getattr(DataType, f.dtype), is_primary=f.name == "pk", **options)
    fields.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["text"],
                                 output_field_names=["sparse"]))
    index = client.prepare_index_params()
    index.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                    params={"bm25_k1": 1.5, "bm25_b": 0.75})
    client.create_collection(collection, schema=fields, index_params=index, consistency_level="Strong")
    rows = []
    for source in documents.read_sources(kb):
        passages = source_passages(source)
        rows += [{"pk": f"{source.sha256[:32]}:{n}", **schema.passage_row(p), "source_hash": source.sha256,
                  "source_passages": len(passages), "closes_source": n == len(passages) - 1} for n, p in enumerate(passages)]
    client.insert(collection, rows)
    client.close()


def test_collection_made_by_0_3_still_searches_and_its_next_sync_recreates_it(kb, tmp_path, caplog):
    make_0_3_collection(tmp_path / "kb.db", kb)
    old = open_retriever(tmp_path / "kb.db")
    assert old.format == 1 and old.analyzer == "standard" and "milvus-function" in old.describe()["bm25"]
    assert old.search("Who leads the help desk?")[0][0].id == "it.html#0" and len(old) == len(FILES)

    (kb / "launch.txt").write_text("The launch code of the Zephyr probe is 4417.", encoding="utf8")
    migrated = sync_index(kb, tmp_path / "kb.db", analyzer="standard")
    assert "made by spanqa 0.3 or older" in caplog.text and migrated.report.full_rebuild
    fresh = sync_index(kb, tmp_path / "fresh.db", analyzer="standard")
    reopened = open_retriever(tmp_path / "kb.db")
    assert reopened.format == fresh.format == 2 and stored(reopened) == stored(fresh)
    assert best_ids(reopened) == best_ids(fresh) and reopened.search("zephyr launch code")[0][0].path == "launch.txt"


def test_collection_made_by_0_3_is_kept_when_the_folder_is_empty(kb, tmp_path):
    make_0_3_collection(tmp_path / "kb.db", kb)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"^No documents found in .*empty; supported: "):
        sync_index(tmp_path / "empty", tmp_path / "kb.db", analyzer="standard")
    assert open_retriever(tmp_path / "kb.db").format == 1 and len(open_retriever(tmp_path / "kb.db")) == len(FILES)


PARAPHRASE = "Who runs IT support?"  # no word of it is in "The help desk is led by Priya Raman."


def test_paraphrase_without_shared_words_is_found_by_dense_and_hybrid_not_bm25(kb, tmp_path):
    found = {mode: sync_index(kb, tmp_path / "kb.db", collection=mode, mode=mode).search(PARAPHRASE, 1)
             for mode in ("bm25", "dense", "hybrid")}
    assert found["bm25"] == []
    assert found["dense"][0][0].id == found["hybrid"][0][0].id == "it.html#0"
    hybrid = open_retriever(tmp_path / "kb.db", collection="hybrid")
    assert hybrid.mode == "hybrid" and hybrid.describe()["settings"]["mode"] == "hybrid"
    assert [ids[0] for ids in top_ids(hybrid)] == list(QUERIES.values())


def test_hybrid_on_the_server(kb, milvus_server):
    retriever = sync_index(kb, milvus_server, collection="hybrid", mode="hybrid")
    assert retriever.search(PARAPHRASE, 1)[0][0].id == "it.html#0"
    assert [ids[0] for ids in top_ids(open_retriever(milvus_server, "hybrid"))] == list(QUERIES.values())


def test_sync_encodes_only_the_files_it_reads(kb, tmp_path, monkeypatch):
    from spacy_spanqa.retrieval.encoder import SentenceEncoder

    encoded = []
    encode = SentenceEncoder.encode
    monkeypatch.setattr(SentenceEncoder, "encode", lambda self, texts, **kw: encoded.extend(texts) or encode(self, texts, **kw))
    retriever = sync_index(kb, tmp_path / "kb.db", mode="dense")
    assert len(encoded) == len(FILES)
    encoded.clear()
    (kb / "parking.txt").write_text("Parking spaces are in the basement garage.", encoding="utf8")
    (kb / "vacation.md").write_text("# Vacation\n\nNew hires get 30 vacation days per year.", encoding="utf8")
    assert sorted(retriever.sync(kb).read) == ["parking.txt", "vacation.md"]
    assert len(encoded) == 2 and "Parking spaces are in the basement garage." in encoded
    assert any("30 vacation days" in text for text in encoded)
    assert retriever.search(PARAPHRASE, 1)[0][0].id == "it.html#0"  # rows re-weighted for BM25 keep their vectors


def test_collection_without_dense_vectors_is_refused_for_hybrid(kb, tmp_path):
    sync_index(kb, tmp_path / "kb.db")
    with pytest.raises(ValueError, match=r"^The collection 'spanqa' at .*kb.db was made without dense vectors, so it "
                       r"cannot rank by hybrid; index the folder into another --collection with --hybrid, or drop this one\.$"):
        sync_index(kb, tmp_path / "kb.db", mode="hybrid")


def test_question_answerer_reads_passages_from_milvus(kb, tmp_path, tiny_nlp):
    from spacy_spanqa.qa import QuestionAnswerer

    sync_index(kb, tmp_path / "kb.db", collection="handbook")
    qa = QuestionAnswerer(str(tmp_path / "kb.db"), model=tiny_nlp, top_k=2, collection="handbook")
    result = qa.ask("How many vacation days do new hires get?")
    assert result.passages[0].passage.id == "vacation.md#0"
    assert QuestionAnswerer(qa.retriever, model=tiny_nlp).retriever is qa.retriever


def test_cli_indexes_and_answers_from_a_db_path(kb, tmp_path, tiny_model_dir):
    from typer.testing import CliRunner

    from spacy_spanqa.cli import app

    db = str(tmp_path / "kb.db")
    runner = CliRunner()
    result = runner.invoke(app, ["index", str(kb), "--index", db, "--collection", "handbook", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["backend"] == "milvus-lite" and summary["collection"] == "handbook"
    assert summary["passages"] == len(FILES) and sorted(summary["sync"]["read"]) == sorted(FILES)
    result = runner.invoke(app, ["ask", "When are expense reports due?", "--index", db, "--collection", "handbook",
                                 "--model", str(tiny_model_dir), "--json", "--top-k", "1"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["passages"][0]["path"] == "expenses.md"
