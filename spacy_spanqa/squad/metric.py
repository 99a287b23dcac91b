"""The official SQuAD metric: exact match and token F1 with SQuAD's answer
normalisation, and the v2.0 HasAns/NoAns split. No spaCy here; the registered
spaCy scorer that reports it is `reader/scorer.py`."""
import collections
import re
import string
from typing import Dict, List, Sequence


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


def mentions_answer(context: str, answers: Sequence[str]) -> bool:
    """Whether any answer occurs in the context as whole words, compared as the
    metric compares answers (case, punctuation and articles ignored)."""
    norm = f" {normalize_answer(context)} "
    return any(f" {normalize_answer(a)} " in norm for a in answers if normalize_answer(a))
