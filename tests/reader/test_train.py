"""End to end: `spacy train` on SQuAD JSON overfits 20 questions, then `spanqa evaluate`."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
FACTS = [
    ("Marie Curie was born in Warsaw in 1867. She won two Nobel Prizes, in physics and chemistry. "
     "Her husband was Pierre Curie.",
     [("Where was Marie Curie born?", "Warsaw"), ("When was Marie Curie born?", "1867"),
      ("How many Nobel Prizes did she win?", "two"), ("Who was her husband?", "Pierre Curie")]),
    ("The Danube flows through Vienna and Budapest before reaching the Black Sea. "
     "It is about 2850 kilometres long.",
     [("Which sea does the Danube reach?", "the Black Sea"), ("How long is the Danube?", "about 2850 kilometres"),
      ("Which capital does the Danube pass first?", "Vienna"), ("Which city comes after Vienna?", "Budapest")]),
    ("Python was created by Guido van Rossum and first released in 1991. "
     "Its name comes from Monty Python, a comedy group.",
     [("Who created Python?", "Guido van Rossum"), ("When was Python released?", "1991"),
      ("Where does the name Python come from?", "Monty Python"), ("What is Monty Python?", "a comedy group")]),
    ("The bakery opens at seven in the morning and closes at noon on Sundays. "
     "Its rye bread costs four euros.",
     [("When does the bakery open?", "seven in the morning"), ("When does it close on Sundays?", "noon"),
      ("What does the rye bread cost?", "four euros"), ("Which bread is mentioned?", "rye bread")]),
    ("Mount Kilimanjaro in Tanzania is 5895 metres high. Hans Meyer reached its summit in 1889.",
     [("How high is Kilimanjaro?", "5895 metres"), ("Where is Kilimanjaro?", "Tanzania"),
      ("Who reached the summit?", "Hans Meyer"), ("When was the summit reached?", "1889")]),
]


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
