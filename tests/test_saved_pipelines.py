"""Pipelines saved by earlier releases keep loading: registry names are stable
across the move of the reader into spacy_spanqa/reader/."""
import json
from pathlib import Path

import pytest
import spacy

FIXTURES = Path(__file__).parent / "fixtures"


def test_a_pipeline_saved_before_the_reader_moved_loads_and_answers_the_same():
    nlp = spacy.load(FIXTURES / "pipeline_0_1")  # saved by spacy-spanqa 0.1 (flat layout)
    expected = json.loads((FIXTURES / "pipeline_0_1_answers.json").read_text())
    reader = nlp.get_pipe("span_qa")
    for want in expected["answers"]:
        got = reader.ask(expected["context"], want["question"])
        assert (got.text, got.start_char) == (want["text"], want["start_char"])
        assert got.score == pytest.approx(want["score"], abs=1e-3)  # saved as float16
    # Settings added since then take their defaults: an uncalibrated score.
    assert reader.cfg["score_scale"] == 1.0 and reader.cfg["score_bias"] == 0.0
