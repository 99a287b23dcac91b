"""QuestionAnswerer: the shipped reader answers the shipped example knowledge base; answers are ranked and de-duplicated."""
import json
import subprocess
import sys

import pytest

from spacy_spanqa.results import Answer, Passage
from spacy_spanqa.retrieval.bm25 import BM25Index
from spacy_spanqa.cli import EXAMPLE_KB
from spacy_spanqa.qa import DEFAULT_MODEL_DIR, QuestionAnswerer, drop_duplicates, rank_answers


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


def _passage(doc: str, n: int, text: str, start: int) -> Passage:
    return Passage(f"{doc}#{n}", text, doc, doc, None, start, start + len(text), document_id=doc)


def test_duplicates_by_text_or_by_overlapping_characters_keep_the_best():
    first = _passage("leave.md", 0, "New hires get 25 days of paid vacation.", 0)
    overlap = _passage("leave.md", 1, "25 days of paid vacation. Carry-over is allowed.", 14)
    other_doc = _passage("faq.md", 0, "New hires get 25 days of paid vacation.", 0)
    best = Answer("q", "25 days", 0.9, 14, 21, passage=first)
    same_chars = Answer("q", "25 days of paid vacation", 0.8, 0, 24, passage=overlap)  # chars 14-38 of leave.md
    same_text = Answer("q", "25 Days", 0.7, 14, 21, passage=other_doc)
    elsewhere = Answer("q", "paid vacation", 0.6, 25, 38, passage=other_doc)
    later_in_doc = Answer("q", "Carry-over", 0.5, 26, 36, passage=overlap)  # chars 40-50: no overlap
    kept = drop_duplicates([best, same_chars, same_text, elsewhere, later_in_doc])
    assert kept == [best, elsewhere, later_in_doc]


def test_rank_answers_orders_by_score_and_retrieval_and_skips_refusals():
    a = _passage("a.md", 0, "Salaries are paid on the 25th.", 0)
    b = _passage("b.md", 0, "Salaries are paid monthly.", 0)
    c = _passage("c.md", 0, "Unrelated text.", 0)
    hits = [(a, 10.0), (b, 2.0), (c, 1.0)]
    answers = [
        Answer("When?", "on the 25th", 0.6, 18, 29),
        Answer("When?", "monthly", 0.65, 18, 25),
        Answer("When?", "", 0.2, no_answer=True),
    ]
    result = rank_answers("When? ", answers, hits, bm25_weight=2.0)
    assert result.question == "When?"
    assert result.answer.text == "on the 25th" and result.answer.passage is a  # retrieval evidence tips it
    assert [c.text for c in result.candidates] == ["monthly"]
    assert [r.passage for r in result.passages] == [a, b, c]
    reader_only = rank_answers("When?", answers, hits, bm25_weight=0.0)
    assert reader_only.answer.text == "monthly"
    assert rank_answers("When?", answers, hits, threshold=0.7).answer is None


def test_a_refused_span_above_the_floor_is_offered_only_as_tentative():
    a = _passage("a.md", 0, "Parental leave lasts 16 weeks.", 0)
    b = _passage("b.md", 0, "Leave requests go to HR.", 0)
    hits = [(a, 3.0), (b, 2.0)]
    answers = [Answer("How long is maternity leave?", "16 weeks", 0.3, 21, 29),
               Answer("How long is maternity leave?", "HR", 0.1, 21, 23)]
    result = rank_answers("How long is maternity leave?", answers, hits, threshold=0.42, tentative_floor=0.2)
    assert result.answer is None and result.candidates == []
    assert result.tentative.text == "16 weeks" and result.tentative.passage is a
    d = result.to_dict()
    assert d["answer"] is None and d["tentative"]["text"] == "16 weeks" and d["tentative"]["source"]["path"] == "a.md"
    # Below the floor: nothing to offer; above the threshold: an answer, never a tentative one.
    assert rank_answers("q", answers, hits, threshold=0.42, tentative_floor=0.35).tentative is None
    answered = rank_answers("q", answers, hits, threshold=0.25, tentative_floor=0.05)
    assert answered.answer.text == "16 weeks" and answered.tentative is None


def test_cli_marks_a_tentative_answer_as_not_sure(qa, tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "spacy_spanqa.cli", "ask", "How many vacation days do new hires get?", "--threshold", "0.99"],
        capture_output=True, text=True, timeout=300, env={"XDG_CACHE_HOME": str(tmp_path), "PATH": ""},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "I don't know" in out.stdout
    before, not_sure = out.stdout.split("\nNot sure (confidence ", 1)
    assert "**" not in before  # the refusal comes first, unhighlighted
    assert "**25**" in not_sure and "(from Northwind Labs employee handbook" in not_sure


@pytest.mark.parametrize("args, message", [
    (["   "], "Error: Empty question: ask a question with at least one word."),
    (["Who?", "--index", "missing.idx"], "Error: No index at missing.idx; build it with `spanqa index FOLDER --index missing.idx`."),
    (["Who?", "--runtime", "tpu"], "Error: Unknown runtime 'tpu'; use one of: torch, onnx, int8."),
])
def test_cli_refuses_bad_arguments_before_loading_the_reader(tmp_path, args, message):
    code = (
        "import sys\n"
        "from spacy_spanqa.cli import main\n"
        f"sys.argv = ['spanqa', 'ask', *{args!r}]\n"
        "try:\n"
        "    main()\n"
        "finally:\n"
        "    assert 'torch' not in sys.modules and 'spacy' not in sys.modules, 'loaded before the arguments were checked'\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 1, out.stderr[-2000:]
    assert out.stderr.strip() == message
