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
    """The top passage per query. (Milvus Lite scores each segment with its own statistics, so
    after an incremental sync the order below the top can differ from a fresh build's.)"""
    return [ids[0] for ids in top_ids(retriever, queries, 1)]


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
    # Milvus Lite scores each segment with its own statistics, so ask for words only the new version has.
    assert report.read == ["hours.txt"] and "nine to four" in opened.search("hours from nine to four")[0][0].text


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
    assert best_ids(reopened) == best_ids(fresh)
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
    assert best_ids(reopened) == best_ids(fresh)


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
