"""`spanqa ask` starts fast: a saved reader answers through ONNX Runtime without
torch, with the PyTorch reader's answers; questions at a prompt or on stdin
share one load; bad input fails at once in one sentence."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spacy_spanqa import cli
from spacy_spanqa.results import Answer, Passage, QAResult

QUESTIONS = [  # the example knowledge base: answerable ones, and some it cannot answer
    "How many vacation days do new hires get?",
    "When are salaries paid?",
    "Who approves late expense reports?",
    "How long is parental leave?",
    "What are the core working hours?",
    "Where do I file expense reports?",
    "How many days per week can I work from home?",
    "When must the security awareness training be completed?",
    "What is the capital of Mongolia?",
    "Who won the 1998 World Cup?",
]


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """A cache folder holding the shipped reader's ONNX copy (exported once, in a process of its own)."""
    from spacy_spanqa.reader.loading import default_model_dir
    from spacy_spanqa.reader.onnx_cache import find_saved_reader, onnx_copy

    folder = tmp_path_factory.mktemp("cache")
    onnx_copy(find_saved_reader(default_model_dir()), "onnx", folder / "spacy-spanqa")
    return folder


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    from spacy_spanqa.retrieval.bm25 import BM25Index

    return BM25Index.build(cli.EXAMPLE_KB, tmp_path_factory.mktemp("kb") / "idx", progress=False)


def _run(args, cache: Path, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    for var in ("SPANQA_RUNTIME", "SPANQA_MODEL", "SPANQA_INDEX"):
        env.pop(var, None)
    return subprocess.run([sys.executable, "-m", "spacy_spanqa.cli", *args], capture_output=True, text=True,
                          timeout=600, env=env, **kwargs)


def test_fast_reader_gives_the_torch_readers_answers_on_the_example_kb(cache, index):
    from spacy_spanqa.qa import QuestionAnswerer
    from spacy_spanqa.reader.fast_reader import FastReader
    from spacy_spanqa.reader.loading import default_model_dir, load_reader
    from spacy_spanqa.reader.onnx_cache import find_saved_reader

    fast = QuestionAnswerer(index, model=FastReader.load(find_saved_reader(default_model_dir()), cache / "spacy-spanqa"))
    torch = QuestionAnswerer(index, model=load_reader(runtime="torch"))
    assert fast.reader.runtime == "onnx" and torch.reader.runtime == "torch"
    answered = 0
    for got, want in zip(fast.ask_many(QUESTIONS), torch.ask_many(QUESTIONS)):
        pairs = [(got.answer, want.answer), (got.tentative, want.tentative), *zip(got.candidates, want.candidates)]
        assert len(got.candidates) == len(want.candidates), got.question
        for g, w in pairs:
            assert (g is None) == (w is None), got.question
            if g is not None:
                assert (g.text, g.start_char, g.end_char, g.passage.id) == (w.text, w.start_char, w.end_char, w.passage.id)
                assert g.score == pytest.approx(w.score, abs=1e-3)
        answered += got.answer is not None
    assert answered >= 6  # the comparison covers real answers, not only refusals


def test_ask_does_not_import_torch_nor_spacy_for_passages_read_before(cache):
    code = (
        "import json, sys\n"
        "from spacy_spanqa.cli import main\n"
        f"sys.argv = ['spanqa', 'ask', {QUESTIONS[0]!r}, '--json']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps([m for m in ('torch', 'transformers', 'spacy_transformers', 'spacy') if sys.modules.get(m)]))\n"
    )
    imported = []
    for _ in range(2):  # the first run computes the passages' answer boundaries with spaCy, the second reads them
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                             env={**os.environ, "XDG_CACHE_HOME": str(cache)})
        assert out.returncode == 0, out.stderr[-2000:]
        answer, modules = out.stdout.strip().splitlines()
        assert json.loads(answer)["answer"] == "25"
        imported.append(json.loads(modules))
    assert imported[0] in ([], ["spacy"]) and imported[1] == []


def test_questions_on_stdin_are_answered_one_per_line_with_one_load(cache, monkeypatch):
    from spacy_spanqa.reader.fast_reader import FastReader

    loads = []
    load = FastReader.load.__func__
    monkeypatch.setattr(FastReader, "load", classmethod(lambda c, *a, **k: loads.append(a) or load(c, *a, **k)))
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    stdin = f"{QUESTIONS[0]}\n\n{QUESTIONS[1]}\n{QUESTIONS[8]}\n"
    result = CliRunner().invoke(cli.app, ["ask", "--json"], input=stdin)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [line["question"] for line in lines] == [QUESTIONS[0], QUESTIONS[1], QUESTIONS[8]]
    assert lines[0]["answer"] == "25" and lines[2]["answer"] is None
    assert len(loads) == 1


class _Answerer:
    """Answers every question with "25" from faq.md, and counts them."""

    def __init__(self):
        self.asked = []

    def ask(self, question: str) -> QAResult:
        self.asked.append(question)
        passage = Passage("faq.md#0", "New hires get 25 days.", "FAQ", "faq.md", None, 0, 22)
        return QAResult(question, Answer(question, "25", 0.87, 15, 17, passage=passage), [], [], None)


def test_the_prompt_answers_in_one_line_keeps_history_and_ends_on_ctrl_d_or_ctrl_c(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    for end in (EOFError, KeyboardInterrupt):
        typed = iter(["How many vacation days?", "  ", "And sick days?"])

        def prompt(_text, end=end):
            try:
                return next(typed)
            except StopIteration:
                raise end from None

        monkeypatch.setattr("builtins.input", prompt)
        qa = _Answerer()
        cli._answer_as_asked(qa, as_json=False)
        assert qa.asked == ["How many vacation days?", "And sick days?"]
        assert capsys.readouterr().out.splitlines() == ["25   (87%, FAQ — faq.md)"] * 2
    assert (tmp_path / "spacy-spanqa" / "ask_history").exists()


@pytest.mark.parametrize("args, message", [
    (["ask", "  "], "Error: Empty question: ask a question with at least one word."),
    (["ask", "Who?", "--model", "./no-such-reader"],
     "Error: No reader at ./no-such-reader: give a pipeline directory, an installed pipeline package "
     "or a Hugging Face QA checkpoint."),
    (["ask", "Who?", "--questions", "q.txt"], "Error: Give either a QUESTION or --questions FILE, not both."),
])
def test_bad_input_fails_at_once_in_one_sentence(args, message, tmp_path):
    out = _run(args, tmp_path)
    assert out.returncode == 1
    assert out.stderr.strip() == message
