"""`spacy package` turns a trained span_qa pipeline into an installable package."""
import json
import os
import shutil
import subprocess
import sys
import zipfile

from packaging.requirements import Requirement

import spacy_spanqa
from conftest import make_nlp

TEXT = "Marie Curie was born in Warsaw in 1867. She won the Nobel Prize in 1903."
QUESTIONS = ["Where was Marie Curie born?", "When did she win the Nobel Prize?", "Who?"]

# Runs in a fresh process: any attempt to open a network connection fails.
LOAD_PACKAGE = f"""
import json, socket, spacy

def no_network(*args, **kwargs):
    raise OSError("network access while loading the packaged pipeline")

socket.socket.connect = socket.socket.connect_ex = no_network
socket.create_connection = no_network
nlp = spacy.load("en_tinyqa")
doc = nlp({TEXT!r})
answers = [doc._.ask(q) for q in {QUESTIONS!r}]
print(json.dumps({{
    "path": str(nlp.path),
    "answers": [[a.text, a.start_char, a.end_char, a.score, a.no_answer] for a in answers],
}}))
"""


def _run(args, **kwargs):
    out = subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)
    assert out.returncode == 0, f"{args} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


def test_spacy_package_builds_a_wheel_that_loads_by_name_with_the_same_answers(
    tiny_model_dir, tmp_path
):
    # The pipeline must not need the model directory it was initialised from.
    model_dir = shutil.copytree(tiny_model_dir, tmp_path / "tiny-bert")
    nlp = make_nlp(model_dir, max_seq_length=48, doc_stride=12, no_answer_threshold=0.0)
    doc = nlp(TEXT)
    answers = [doc._.ask(q) for q in QUESTIONS]
    # Full-precision scores (Answer.to_dict rounds them); JSON round-trips floats exactly.
    expected = [[a.text, a.start_char, a.end_char, float(a.score), a.no_answer] for a in answers]
    assert any(a.text for a in answers)
    nlp.to_disk(tmp_path / "pipeline")
    shutil.rmtree(model_dir)

    (tmp_path / "packages").mkdir()
    _run(
        [
            sys.executable, "-m", "spacy", "package",
            str(tmp_path / "pipeline"), str(tmp_path / "packages"),
            "--name", "tinyqa", "--version", "1.0.0", "--build", "wheel",
        ]
    )
    wheels = list((tmp_path / "packages").glob("en_tinyqa-1.0.0/dist/*.whl"))
    assert len(wheels) == 1, list((tmp_path / "packages").rglob("*"))

    # Installing the wheel pulls in span_qa's code: the package requires spacy-spanqa.
    with zipfile.ZipFile(wheels[0]) as whl:
        metadata = whl.read("en_tinyqa-1.0.0.dist-info/METADATA").decode("utf8")
    requires = [
        Requirement(line.split(":", 1)[1].strip())
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:")
    ]
    spanqa = [r for r in requires if r.name == "spacy-spanqa"]
    assert spanqa, metadata
    assert spanqa[0].specifier.contains(spacy_spanqa.__version__)

    site = tmp_path / "site"
    _run(
        [
            sys.executable, "-m", "pip", "install", "--no-deps", "--no-index",
            "--disable-pip-version-check", "--target", str(site), str(wheels[0]),
        ]
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(site),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    out = _run([sys.executable, "-c", LOAD_PACKAGE], env=env, cwd=tmp_path)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded["path"].startswith(str(site))
    assert loaded["answers"] == expected
