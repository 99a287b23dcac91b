"""The reader shipped in the package answers the shipped example knowledge base."""
import json
import subprocess
import sys

import pytest

from spacy_spanqa.bm25 import BM25Index
from spacy_spanqa.cli import EXAMPLE_KB
from spacy_spanqa.qa import DEFAULT_MODEL_DIR, QuestionAnswerer


@pytest.fixture(scope="module")
def qa(tmp_path_factory):
    index = BM25Index.build(EXAMPLE_KB, tmp_path_factory.mktemp("kb") / "idx", progress=False)
    return QuestionAnswerer(index)


def test_default_reader_is_compact_and_offline():
    size = (DEFAULT_MODEL_DIR / "span_qa" / "model").stat().st_size
    assert size < 50_000_000


def test_default_reader_answers_with_source(qa):
    result = qa.ask("How many vacation days do new hires get?")
    assert result.answer is not None
    assert "25" in result.answer.text
    assert result.answer.passage.path == "faq.md"
    p = result.answer.passage
    assert p.text[result.answer.start_char : result.answer.end_char] == result.answer.text
    d = result.to_dict()
    assert d["answer"] == result.answer.text and d["source"]["path"] == "faq.md"
    assert d["passages"] and all("bm25_score" in x for x in d["passages"])


def test_cli_ask_prints_json_lines_for_a_questions_file(tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"question": "How many vacation days do new hires get?"}\nWhen are salaries paid?\n')
    out = subprocess.run(
        [sys.executable, "-m", "spacy_spanqa.cli", "ask", "--questions", str(questions), "--top-k", "3"],
        capture_output=True, text=True, timeout=300, env={"XDG_CACHE_HOME": str(tmp_path), "PATH": ""},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [json.loads(line) for line in out.stdout.strip().splitlines()]
    assert [line["question"] for line in lines] == [
        "How many vacation days do new hires get?", "When are salaries paid?"
    ]
    assert "25" in lines[0]["answer"]
    assert len(lines[0]["passages"]) <= 3


def test_cli_errors_are_one_sentence(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "spacy_spanqa.cli", "ask", "Who?", "--index", str(tmp_path / "missing.idx")],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 1
    assert out.stderr.strip().startswith("Error: No index at")
    assert "Traceback" not in out.stderr


def test_cli_rejects_an_unknown_runtime_in_one_sentence(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "spacy_spanqa.cli", "ask", "Who?", "--runtime", "tpu"],
        capture_output=True, text=True, timeout=300, env={"XDG_CACHE_HOME": str(tmp_path), "PATH": ""},
    )
    assert out.returncode == 1
    assert out.stderr.strip() == "Error: Unknown runtime 'tpu'; use one of: torch, onnx, int8."
