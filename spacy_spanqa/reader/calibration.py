"""Calibrated confidence: fit the score on held-out questions, pick the
no-answer threshold, and measure how well scores match accuracy.

An answer counts as right when its token F1 with a gold answer is at least
0.5 (SQuAD normalisation); any answer to an unanswerable question is wrong.
The score is sigmoid(scale * margin + bias), where margin is the span's logit
margin over the null answer: a temperature and a bias, fitted by logistic
regression (Platt scaling), so the order of answers never changes.
"""
import math
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy

RIGHT_F1 = 0.5


@dataclass(frozen=True)
class Calibration:
    """A fitted confidence: score = sigmoid(score_scale * margin + score_bias), and
    the no-answer threshold on that score (see `SpanQA.set_calibration`)."""

    score_scale: float
    score_bias: float
    no_answer_threshold: float
    tentative_floor: float

    def to_dict(self) -> dict:
        return {"score_scale": self.score_scale, "score_bias": self.score_bias,
                "no_answer_threshold": self.no_answer_threshold, "tentative_floor": self.tentative_floor}


def fit_scale_bias(margins: Sequence[float], right: Sequence[bool], l2: float = 1e-3) -> Tuple[float, float]:
    """Maximum-likelihood (scale, bias) of P(right) = sigmoid(scale * margin + bias),
    by Newton's method (two parameters; a small L2 keeps it finite on separable data)."""
    x = numpy.asarray(margins, dtype="float64")
    y = numpy.asarray(right, dtype="float64")
    if x.size == 0 or y.min() == y.max():
        raise ValueError(
            "Calibration needs held-out questions with both right and wrong answers; "
            "give a dev file with more questions (and some unanswerable ones)."
        )
    X = numpy.stack([x, numpy.ones_like(x)], axis=1)

    def loss(w):  # negative log-likelihood, computed without overflow
        z = X @ w
        return float(numpy.sum(numpy.logaddexp(0.0, z) - y * z) + 0.5 * l2 * w @ w)

    w = numpy.zeros(2)
    for _ in range(100):
        p = 0.5 * (1.0 + numpy.tanh(0.5 * (X @ w)))  # sigmoid, stable for large |z|
        grad = X.T @ (p - y) + l2 * w
        hess = (X * (p * (1 - p))[:, None]).T @ X + l2 * numpy.eye(2)
        step = numpy.linalg.solve(hess, grad)
        while loss(w - step) > loss(w) and numpy.abs(step).max() > 1e-12:
            step = step / 2  # damped Newton: never worse than the last iterate
        w = w - step
        if numpy.abs(step).max() < 1e-8:
            break
    return float(w[0]), float(w[1])


def best_threshold(scores: Sequence[float], f1s: Sequence[float], has_answer: Sequence[bool]) -> Tuple[float, float]:
    """The no-answer threshold with the best overall F1, and that F1 (0-100),
    as the official SQuAD 2.0 script finds it: answer the questions whose
    score is at least the threshold, say "no answer" to the rest.

    f1s: the F1 of each question's best span if it were given (0 for an
    unanswerable question); scores: that span's score.
    """
    n = len(scores)
    if n == 0:
        raise ValueError("Nothing to evaluate: no questions.")
    current = float(sum(1 for h in has_answer if not h))  # everything answered "no answer"
    best, best_t = current, float("inf")
    for i in sorted(range(n), key=lambda i: -scores[i]):
        current += f1s[i] if has_answer[i] else -1.0
        if current > best:
            best, best_t = current, float(scores[i])
    return (best_t if best_t != float("inf") else 1.0), 100.0 * best / n


def check_refusal(refusal: float) -> None:
    """A refusal share must lie strictly between 0 and 1."""
    if not 0.0 < refusal < 1.0:
        raise ValueError(f"The refusal share must be between 0 and 1 (exclusive), not {refusal}: give e.g. 0.9.")


def threshold_for_refusal(scores: Sequence[float], has_answer: Sequence[bool], refusal: float) -> float:
    """The threshold at which the reader says "no answer" to `refusal` (0-1)
    of the unanswerable questions: the way to compare readers at the same
    refusal rate rather than each at its own fitted threshold (a fitted
    threshold is one point on a trade-off, and readers fit different points)."""
    check_refusal(refusal)
    unanswerable = sorted(s for s, h in zip(scores, has_answer) if not h)
    if not unanswerable:
        raise ValueError(
            "These questions have no unanswerable ones, so no refusal rate can be matched; "
            "use a SQuAD 2.0 file with unanswerable questions, or set the threshold itself."
        )
    refused = math.ceil(refusal * len(unanswerable))  # the lowest-scored ones: score < threshold
    if refused == len(unanswerable):
        return math.nextafter(unanswerable[-1], math.inf)
    return float(unanswerable[refused])


def tentative_floor(scores: Sequence[float], right: Sequence[bool], threshold: float,
                    min_accuracy: float = 0.4) -> Tuple[float, float, int]:
    """The lowest score from which spans below `threshold` are right at least
    `min_accuracy` of the time: (floor, their accuracy, how many). Offering
    them as tentative answers is then worth the reader's time. `threshold`
    (nothing tentative) when no floor reaches it."""
    below = sorted(((s, r) for s, r in zip(scores, right) if s < threshold), key=lambda x: -x[0])
    best = (threshold, 0.0, 0)
    n_right = 0
    for n, (score, is_right) in enumerate(below, 1):
        n_right += is_right
        if n >= 20 and n_right / n >= min_accuracy:  # at least 20 questions, so the share means something
            best = (float(score), n_right / n, n)
    return best


@dataclass
class Bin:
    low: float
    high: float
    count: int
    mean_score: float
    accuracy: float

    def to_dict(self) -> dict:
        return {"range": f"{self.low:.1f}-{self.high:.1f}", "count": self.count,
                "mean_score": round(self.mean_score, 3), "accuracy": round(self.accuracy, 3)}


def reliability(scores: Sequence[float], right: Sequence[bool], n_bins: int = 10) -> Tuple[List[Bin], float]:
    """Accuracy per score bin and the expected calibration error (the
    count-weighted mean gap between score and accuracy, 0-1)."""
    scores = numpy.asarray(scores, dtype="float64")
    right = numpy.asarray(right, dtype="float64")
    index = numpy.minimum((scores * n_bins).astype(int), n_bins - 1)
    bins, ece = [], 0.0
    for b in range(n_bins):
        mask = index == b
        if not mask.any():
            continue
        mean, acc = float(scores[mask].mean()), float(right[mask].mean())
        bins.append(Bin(b / n_bins, (b + 1) / n_bins, int(mask.sum()), mean, acc))
        ece += mask.sum() / max(len(scores), 1) * abs(mean - acc)
    return bins, float(ece)
