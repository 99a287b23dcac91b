"""End to end: `spacy train` on SQuAD JSON overfits 20 questions, then `spanqa evaluate`."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.facts import FACTS

ROOT = Path(__file__).parents[2]


def write_squad(path: Path) -> Path:
    paragraphs = []
    for i, (context, qas) in enumerate(FACTS):
        items = []
        for j, (q, a) in enumerate(qas):
            items.append({"id": f"{i}-{j}", "question": q, "answers": [{"text": a, "answer_start": context.index(a)}]})
        paragraphs.append({"context": context, "qas": items})
    path.write_text(json.dumps({"version": "v1.1", "data": [{"title": "facts", "paragraphs": paragraphs}]}))
    return path


def test_spacy_train_overfits_twenty_questions(tmp_path):
    data = write_squad(tmp_path / "facts.json")
    out = tmp_path / "out"
    train = subprocess.run(
        [sys.executable, "-m", "spacy", "train", str(ROOT / "configs" / "minilm_cpu.cfg"),
         "--paths.train", str(data), "--paths.dev", str(data), "--output", str(out),
         "--training.max_steps", "60", "--training.eval_frequency", "30",
         "--training.optimizer.learn_rate.warmup_steps", "5",
         "--training.optimizer.learn_rate.total_steps", "60",
         "--training.optimizer.learn_rate.initial_rate", "0.0002",
         "--training.batcher.size", "400", "--training.dropout", "0.0",
         "--components.span_qa.model.weights_dtype", "float32"],
        capture_output=True, text=True, timeout=1800,
    )
    assert train.returncode == 0, train.stderr[-3000:]
    evaluate = subprocess.run(
        [sys.executable, "-m", "spacy_spanqa.cli", "evaluate", "--model", str(out / "model-last"),
         "--data", str(data), "--output", str(tmp_path / "pred.json")],
        capture_output=True, text=True, timeout=300,
    )
    assert evaluate.returncode == 0, evaluate.stderr[-3000:]
    scores = json.loads(evaluate.stdout.strip().splitlines()[-1])
    assert scores["total"] == 20
    assert scores["exact"] == 100.0, scores
    predictions = json.loads((tmp_path / "pred.json").read_text())
    assert predictions["0-0"] == "Warsaw"

    # The same trained reader on ONNX Runtime: float32 answers identically;
    # int8 still answers almost everything.
    for runtime, at_least in (("onnx", 100.0), ("int8", 80.0)):
        run = subprocess.run(
            [sys.executable, "-m", "spacy_spanqa.cli", "evaluate", "--model", str(out / "model-last"),
             "--data", str(data), "--runtime", runtime, "--output", str(tmp_path / f"pred-{runtime}.json")],
            capture_output=True, text=True, timeout=300,
        )
        assert run.returncode == 0, run.stderr[-3000:]
        assert json.loads(run.stdout.strip().splitlines()[-1])["exact"] >= at_least, runtime
    onnx_predictions = json.loads((tmp_path / "pred-onnx.json").read_text())
    assert onnx_predictions == predictions
