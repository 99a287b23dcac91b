"""Evaluation: every question of a file is scored, spaCy's own commands agree with
`spanqa evaluate`, and a calibrated pipeline saves and reloads its confidence."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import spacy

from spacy_spanqa.reader.calibration import best_threshold, fit_scale_bias, reliability, threshold_for_refusal
from tests.facts import FACTS

ROOT = Path(__file__).parents[2]
DEFAULT_MODEL = ROOT / "spacy_spanqa" / "default_model"
UNANSWERABLE = [
    ("Who designed the Eiffel Tower?", 0), ("What is the capital of Peru?", 1),
    ("Which team won the 1998 World Cup?", 2), ("How much does a croissant cost?", 3),
    ("Who was the first person on the Moon?", 4),
]


def squad_file(path: Path, empty_first: bool = False, unanswerable: bool = True) -> Path:
    paragraphs = [{"context": "This paragraph has no questions.", "qas": []}] if empty_first else []
    for i, (context, qas) in enumerate(FACTS):
        items = [{"id": f"{i}-{j}", "question": q, "answers": [{"text": a, "answer_start": context.index(a)}]}
                 for j, (q, a) in enumerate(qas)]
        if unanswerable:
            items += [{"id": f"{i}-none-{j}", "question": q, "answers": [], "is_impossible": True}
                      for j, (q, k) in enumerate(UNANSWERABLE) if k == i]
        paragraphs.append({"context": context, "qas": items})
        if empty_first and i == 0:
            paragraphs.append({"context": "Neither does this one.", "qas": []})
    path.write_text(json.dumps({"version": "v2.0", "data": [{"title": "facts", "paragraphs": paragraphs}]}))
    return path


def run(*args, timeout=600):
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def spanqa_evaluate(data: Path, *extra) -> dict:
    out = run("-m", "spacy_spanqa.cli", "evaluate", "--data", str(data), *extra)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_evaluate_scores_every_question_after_paragraphs_without_questions(tmp_path):
    data = squad_file(tmp_path / "gaps.json", empty_first=True)
    na_probs = tmp_path / "na.json"
    scores = spanqa_evaluate(data, "--na-prob-file", str(na_probs), "--output", str(tmp_path / "pred.json"))
    assert scores["total"] == 25
    assert scores["HasAns_total"] == 20 and scores["NoAns_total"] == 5
    probs = json.loads(na_probs.read_text())
    assert len(probs) == 25 and all(0.0 <= p <= 1.0 for p in probs.values())
    assert sum(b["count"] for b in scores["calibration"]) == 25
    assert 0.0 <= scores["best_f1_thresh"] <= 1.0 and scores["best_f1"] >= scores["f1"] - 1e-6
    assert len(json.loads((tmp_path / "pred.json").read_text())) == 25


def test_spacy_evaluate_on_a_converted_corpus_matches_spanqa_evaluate(tmp_path):
    data = squad_file(tmp_path / "facts.json")
    run("-m", "spacy_spanqa.cli", "convert", str(data), str(tmp_path / "facts.spacy"))
    expected = spanqa_evaluate(data)
    for command in (["evaluate"], ["benchmark", "accuracy"]):
        out = tmp_path / f"{command[-1]}.json"
        run("-m", "spacy", *command, str(DEFAULT_MODEL), str(tmp_path / "facts.spacy"), "--output", str(out))
        got = json.loads(out.read_text())
        assert got["qa_f1"] == pytest.approx(expected["f1"] / 100, abs=1e-3), command
        assert got["qa_exact"] == pytest.approx(expected["exact"] / 100, abs=1e-3), command
        assert got["qa_f1"] > 0.5


def test_nlp_evaluate_answers_questions_that_ride_only_on_the_reference():
    from spacy.training import Example

    nlp = spacy.load(DEFAULT_MODEL)
    context, qas = FACTS[0]
    reference = nlp.make_doc(context)
    reference._.qa_questions = [
        {"id": str(j), "question": q, "answers": [{"text": a, "answer_start": context.index(a)}]}
        for j, (q, a) in enumerate(qas)
    ]
    scores = nlp.evaluate([Example(nlp.make_doc(context), reference)])
    assert scores["qa_f1"] > 0.5


def test_spacy_debug_config_and_debug_data_pass_on_the_cpu_config(tmp_path):
    dev = squad_file(tmp_path / "dev.json")
    # spaCy's debug data wants at least 100 training examples (one per question here).
    articles = json.loads(dev.read_text())["data"]
    train = [{"title": f"copy {n}", "paragraphs": [
        {"context": p["context"], "qas": [{**q, "id": f"{n}-{q['id']}"} for q in p["qas"]]}
        for p in articles[0]["paragraphs"]]} for n in range(5)]
    (tmp_path / "train.json").write_text(json.dumps({"version": "v2.0", "data": train}))
    paths = ["--paths.train", str(tmp_path / "train.json"), "--paths.dev", str(dev)]
    run("-m", "spacy", "debug", "config", "configs/minilm_cpu.cfg", *paths)
    out = run("-m", "spacy", "debug", "data", "configs/minilm_cpu.cfg", *paths)
    assert "✘" not in out.stdout and "checks passed" in out.stdout


def test_calibrate_saves_scale_bias_and_threshold_that_spacy_load_restores(tmp_path):
    data = squad_file(tmp_path / "facts.json")
    out = run("-m", "spacy_spanqa.cli", "calibrate", "--data", str(data), "--output", str(tmp_path / "cal"))
    fitted = json.loads(out.stdout.strip().splitlines()[-1])
    assert fitted["questions"] == 25
    nlp = spacy.load(tmp_path / "cal")
    reader = nlp.get_pipe("span_qa")
    for key in ("score_scale", "score_bias", "no_answer_threshold"):
        assert reader.cfg[key] == pytest.approx(fitted[key], abs=1e-4)
        assert nlp.config["components"]["span_qa"][key] == pytest.approx(fitted[key], abs=1e-4)
    # The reloaded pipeline scores with the fitted calibration.
    evaluated = spanqa_evaluate(data, "--model", str(tmp_path / "cal"))
    assert evaluated["threshold"] == pytest.approx(fitted["no_answer_threshold"], abs=1e-4)
    assert evaluated["ece"] == pytest.approx(fitted["after"]["ece"], abs=1e-3)


def test_fit_scale_bias_recovers_the_logistic_that_made_the_labels():
    import numpy

    rng = numpy.random.default_rng(0)
    margins = rng.normal(0, 4, 20000)
    right = rng.random(20000) < 1 / (1 + numpy.exp(-(0.5 * margins - 1.0)))
    scale, bias = fit_scale_bias(margins, right)
    assert scale == pytest.approx(0.5, abs=0.03) and bias == pytest.approx(-1.0, abs=0.06)


def test_fit_scale_bias_needs_both_right_and_wrong_answers():
    with pytest.raises(ValueError, match="both right and wrong"):
        fit_scale_bias([1.0, 2.0], [True, True])


def test_best_threshold_answers_exactly_the_questions_that_pay():
    # Two answerable (F1 1.0, 0.5) and two unanswerable questions, by score.
    scores = [0.9, 0.8, 0.6, 0.3]
    f1s = [1.0, 0.0, 0.5, 0.0]
    has_answer = [True, False, True, False]
    threshold, f1 = best_threshold(scores, f1s, has_answer)
    # Answering only the 0.9 one pays best: 1.0 + 0 (the 0.6 one refused) + 1 + 1 (both refused) = 3 of 4.
    assert threshold == 0.9 and f1 == pytest.approx(75.0)


def test_threshold_for_refusal_refuses_that_share_of_the_unanswerable_questions():
    scores = [0.4, 0.1, 0.95, 0.3, 0.2, 0.05]
    has_answer = [False, False, True, False, False, True]  # unanswerable scores: 0.1, 0.2, 0.3, 0.4
    assert threshold_for_refusal(scores, has_answer, 0.5) == 0.3  # refuses 0.1 and 0.2 (score < threshold)
    assert threshold_for_refusal(scores, has_answer, 0.6) == 0.4  # 2.4 of 4 rounds up to 3 refused
    everything = threshold_for_refusal(scores, has_answer, 0.99)
    assert everything > 0.4 and sum(s < everything for s, h in zip(scores, has_answer) if not h) == 4
    with pytest.raises(ValueError, match="between 0 and 1"):
        threshold_for_refusal(scores, has_answer, 1.0)
    with pytest.raises(ValueError, match="no unanswerable"):
        threshold_for_refusal([0.5, 0.7], [True, True], 0.9)


def test_evaluate_at_a_refusal_rate_reports_the_threshold_that_gives_it(tmp_path, tiny_nlp):
    from spacy_spanqa.squad.evaluation import evaluate
    from spacy_spanqa.squad.format import read_squad

    paragraphs = read_squad(squad_file(tmp_path / "facts.json"))
    result = evaluate(tiny_nlp, paragraphs, refusal=0.6, progress=False).scores
    assert result["NoAns_total"] == 5 and result["NoAns_refused"] == pytest.approx(60.0)  # 3 of 5
    at_that_threshold = evaluate(tiny_nlp, paragraphs, threshold=result["threshold"], progress=False).scores
    assert at_that_threshold["f1"] == pytest.approx(result["f1"])


def test_evaluate_refusal_without_unanswerable_questions_says_what_to_give(tmp_path):
    data = squad_file(tmp_path / "answerable.json", unanswerable=False)
    both = subprocess.run([sys.executable, "-m", "spacy_spanqa.cli", "evaluate", "--data", str(data),
                           "--refusal", "0.9", "--threshold", "0.5"], capture_output=True, text=True, cwd=ROOT)
    assert both.returncode == 1 and "either --threshold or --refusal" in both.stderr
    none = subprocess.run([sys.executable, "-m", "spacy_spanqa.cli", "evaluate", "--data", str(data),
                           "--refusal", "0.9"], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert none.returncode == 1, none.stderr[-2000:]
    assert "answerable.json: These questions have no unanswerable ones" in none.stderr
    assert "Traceback" not in none.stderr


def test_reliability_of_a_calibrated_score_is_near_zero_error():
    scores = [0.95] * 20 + [0.25] * 20
    right = [True] * 19 + [False] + [True] * 5 + [False] * 15
    bins, ece = reliability(scores, right)
    assert [b.count for b in bins] == [20, 20]
    assert ece == pytest.approx(0.0, abs=1e-9)


def test_reliability_diagram_is_drawn_from_the_printed_tables(tmp_path):
    from spacy_spanqa.reader.calibration import reliability
    from spacy_spanqa.squad.plots import plot_reliability

    bins, _ = reliability([0.05, 0.15, 0.55, 0.62, 0.91, 0.97], [False, False, True, False, True, True])
    table = [b.to_dict() for b in bins]
    out = plot_reliability({"before": table, "after": table[::-1]}, tmp_path / "plots" / "reliability.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 5_000


def test_skip_and_limit_pick_questions_across_paragraphs(tmp_path, tiny_nlp):
    from spacy_spanqa.squad.evaluation import read_questions
    from spacy_spanqa.squad.format import read_squad

    paragraphs = read_squad(squad_file(tmp_path / "facts.json", empty_first=True))
    every = [q.id for p in paragraphs for q in p.questions]
    outputs, golds = read_questions(tiny_nlp, paragraphs, skip=3, limit=10, progress=False)
    assert [o.id for o in outputs] == every[3:13]
    assert set(golds) == set(every[3:13])
    outputs, _ = read_questions(tiny_nlp, paragraphs, skip=len(every) - 2, progress=False)
    assert [o.id for o in outputs] == every[-2:]
