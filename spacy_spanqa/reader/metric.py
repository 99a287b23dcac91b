"""The official SQuAD metric (exact match and token F1 with SQuAD's answer
normalisation, v2.0 HasAns/NoAns split) and the registered spaCy scorer."""
import collections
import re
import string
from typing import Dict, Iterable, List, Optional

from spacy.training import Example
from spacy.util import registry

from .extensions import ANSWERS_ATTR, QUESTIONS_ATTR


def normalize_answer(s: str) -> str:
    """Lower text and remove punctuation, articles and extra whitespace (official SQuAD)."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1_score(prediction: str, gold: str) -> float:
    pred_toks = normalize_answer(prediction).split()
    gold_toks = normalize_answer(gold).split()
    if not pred_toks or not gold_toks:
        return float(pred_toks == gold_toks)
    common = collections.Counter(pred_toks) & collections.Counter(gold_toks)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_toks), same / len(gold_toks)
    return 2 * precision * recall / (precision + recall)


def squad_evaluate(
    golds: Dict[str, List[str]], predictions: Dict[str, str]
) -> Dict[str, float]:
    """The official SQuAD v2.0 evaluation (v1.1 when no question is unanswerable).

    golds: question id -> gold answer texts ([] for an unanswerable question).
    predictions: question id -> predicted text ("" for no answer); missing = "".
    Scores are percentages, as the official script prints them.
    """
    if not golds:
        raise ValueError("Nothing to evaluate: no gold questions.")
    rows = {"": [], "HasAns_": [], "NoAns_": []}
    for qid, answers in golds.items():
        answers = [a for a in answers if normalize_answer(a)] or [""]
        pred = predictions.get(qid, "")
        em = max(exact_match(pred, a) for a in answers)
        f1 = max(f1_score(pred, a) for a in answers)
        rows[""].append((em, f1))
        rows["HasAns_" if answers != [""] else "NoAns_"].append((em, f1))
    out: Dict[str, float] = {}
    for prefix, values in rows.items():
        if values or not prefix:
            out[f"{prefix}exact"] = 100.0 * sum(v[0] for v in values) / len(values)
            out[f"{prefix}f1"] = 100.0 * sum(v[1] for v in values) / len(values)
            out[f"{prefix}total"] = len(values)
    return out


@registry.scorers("spacy_spanqa.qa_scorer.v1")
def make_qa_scorer():
    return score_qa


def score_qa(examples: Iterable[Example], **kwargs) -> Dict[str, Optional[float]]:
    """`qa_exact` and `qa_f1` (0-1, spaCy's convention) with SQuAD normalisation."""
    golds: Dict[str, List[str]] = {}
    preds: Dict[str, str] = {}
    for eg in examples:
        questions = eg.reference._.get(QUESTIONS_ATTR) or []
        answers = eg.predicted._.get(ANSWERS_ATTR) or []
        for i, q in enumerate(questions):
            key = f"{len(golds)}:{q.get('id')}"
            golds[key] = [a["text"] for a in q.get("answers", [])]
            preds[key] = answers[i].text if i < len(answers) else ""
    if not golds:
        return {"qa_exact": None, "qa_f1": None}
    result = squad_evaluate(golds, preds)
    return {"qa_exact": result["exact"] / 100, "qa_f1": result["f1"] / 100}
