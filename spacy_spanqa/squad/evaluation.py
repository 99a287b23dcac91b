"""A reader measured on SQuAD questions: every question read once, then the
official SQuAD scores, the best no-answer threshold and how well the
confidence is calibrated (`evaluate`); or the confidence fitted on them
(`calibrate`). Uses the reader, so spaCy and torch load here."""
import sys
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from spacy.language import Language

from ..reader.calibration import (
    RIGHT_F1,
    Calibration,
    best_threshold,
    fit_scale_bias,
    reliability,
    tentative_floor,
    threshold_for_refusal,
)
from ..reader.corpus import doc_with_questions
from ..reader.loading import get_span_qa
from .format import SquadParagraph
from .metric import f1_score, squad_evaluate


@dataclass
class ReaderOutput:
    """A question's best span, whatever its score."""

    id: str
    text: str  # "" when the context has no span to give
    margin: Optional[float]  # logit margin over the null answer; None: no span


def read_questions(
    nlp: Language,
    paragraphs: Sequence[SquadParagraph],
    limit: int = 0,
    batch_size: int = 16,
    progress: bool = True,
    skip: int = 0,
) -> Tuple[List[ReaderOutput], Dict[str, List[str]]]:
    """The reader's best span for every question of the paragraphs (the first
    `limit` questions if set, after the first `skip`), and the gold answers of those questions."""
    from tqdm import tqdm

    reader = get_span_qa(nlp)
    chosen: List[Tuple[SquadParagraph, list]] = []
    count = 0
    for p in paragraphs:
        questions = p.questions
        if skip:
            questions, skip = questions[skip:], max(0, skip - len(questions))
        questions = questions[: limit - count] if limit else questions
        if questions:  # a paragraph without questions is skipped, not the end of the file
            chosen.append((p, questions))
            count += len(questions)
        if limit and count >= limit:
            break
    outputs: List[ReaderOutput] = []
    with tqdm(total=count, desc="Reading", unit="q", file=sys.stderr, disable=not progress) as bar:
        for i in range(0, len(chosen), batch_size):
            batch = chosen[i : i + batch_size]
            docs = [doc_with_questions(nlp.make_doc(p.context), questions, False) for p, questions in batch]
            for (p, questions), found in zip(batch, reader.predict(docs)):
                for q, best in zip(questions, found):
                    if best is None:
                        outputs.append(ReaderOutput(q.id, "", None))
                    else:
                        outputs.append(ReaderOutput(q.id, p.context[best.start_char : best.end_char], best.margin))
                bar.update(len(questions))
    golds = {q.id: [t for t, _ in q.answers] for _, qs in chosen for q in qs}
    return outputs, golds


def answer_f1(output: ReaderOutput, gold: List[str]) -> float:
    """F1 (0-1) of the question's best span if it were given; 0 for an unanswerable question."""
    if not gold or output.margin is None:
        return 0.0
    return max(f1_score(output.text, g) for g in gold)


def output_scores(outputs: Sequence[ReaderOutput], score_margin) -> List[float]:
    """Each output's score (`score_margin` of its margin); 0 where the context had no span."""
    return [score_margin(o.margin) if o.margin is not None else 0.0 for o in outputs]


def score_outputs(
    outputs: Sequence[ReaderOutput], golds: Dict[str, List[str]], score_margin, threshold: float
) -> Tuple[dict, Dict[str, str], Dict[str, float]]:
    """Official scores at `threshold`, plus best_f1 / best_f1_thresh and the
    calibration table; also the predictions and no-answer probabilities in
    the official script's formats. `score_margin` maps a margin to a score."""
    scores = output_scores(outputs, score_margin)
    predictions = {
        o.id: (o.text if o.margin is not None and s >= threshold else "") for o, s in zip(outputs, scores)
    }
    result = squad_evaluate(golds, predictions)
    f1s = [answer_f1(o, golds[o.id]) for o in outputs]
    has_answer = [bool(golds[o.id]) for o in outputs]
    best_t, best_f1 = best_threshold(scores, f1s, has_answer)
    bins, ece = reliability(scores, [f >= RIGHT_F1 for f in f1s])
    answered = [s >= threshold for s in scores]
    no_answer_questions = [a for a, h in zip(answered, has_answer) if not h]
    result.update(
        {
            "threshold": threshold,
            "NoAns_refused": (
                100.0 * sum(1 for a in no_answer_questions if not a) / len(no_answer_questions)
                if no_answer_questions else None
            ),
            "best_f1": best_f1,
            "best_f1_thresh": best_t,
            "ece": ece,
            "calibration": [b.to_dict() for b in bins],
        }
    )
    na_probs = {o.id: 1.0 - s for o, s in zip(outputs, scores)}
    return result, predictions, na_probs


@dataclass
class Evaluation:
    """`evaluate`'s result: the scores, and the predictions and no-answer
    probabilities in the official script's formats."""

    scores: dict
    predictions: Dict[str, str]
    na_probs: Dict[str, float]


def evaluate(
    nlp: Language,
    paragraphs: Sequence[SquadParagraph],
    threshold: Optional[float] = None,
    limit: int = 0,
    batch_size: int = 16,
    progress: bool = True,
    skip: int = 0,
    refusal: Optional[float] = None,
) -> Evaluation:
    """The reader's official SQuAD scores on the paragraphs' questions at
    `threshold` (None: the reader's own), with the best threshold and the
    calibration table (see `score_outputs`); `skip` and `limit` pick the questions.
    `refusal` instead sets the threshold that refuses that share of the
    unanswerable questions (`threshold_for_refusal`)."""
    reader = get_span_qa(nlp)
    if threshold is None:
        threshold = reader.cfg["no_answer_threshold"]
    outputs, golds = read_questions(nlp, paragraphs, limit=limit, batch_size=batch_size, progress=progress, skip=skip)
    if refusal is not None:
        has_answer = [bool(golds[o.id]) for o in outputs]
        threshold = threshold_for_refusal(output_scores(outputs, reader.score_margin), has_answer, refusal)
    scores, predictions, na_probs = score_outputs(outputs, golds, reader.score_margin, threshold)
    return Evaluation(scores, predictions, na_probs)


@dataclass
class CalibrationReport:
    """`calibrate`'s result: the fitted calibration, the questions it was fitted
    on, and the scores before (the reader's own settings) and after."""

    calibration: Calibration
    questions: int
    before: dict
    after: dict


def calibrate(
    nlp: Language,
    paragraphs: Sequence[SquadParagraph],
    limit: int = 0,
    batch_size: int = 16,
    progress: bool = True,
) -> CalibrationReport:
    """Fit the reader's confidence (score_scale, score_bias) on held-out
    questions, then its no-answer threshold (best F1) and the floor above
    which a refused span is still offered as a tentative answer (right at
    least 40% of the time), and set them on the reader and its pipe config
    (`SpanQA.set_calibration`)."""
    reader = get_span_qa(nlp)
    outputs, golds = read_questions(nlp, paragraphs, limit=limit, batch_size=batch_size, progress=progress)
    spans = [o for o in outputs if o.margin is not None]
    before, _, _ = score_outputs(outputs, golds, reader.score_margin, reader.cfg["no_answer_threshold"])
    right = [answer_f1(o, golds[o.id]) >= RIGHT_F1 for o in spans]
    scale, bias = fit_scale_bias([o.margin for o in spans], right)
    reader.set_calibration(Calibration(scale, bias, 0.5, 0.5))
    at_half, _, _ = score_outputs(outputs, golds, reader.score_margin, 0.5)
    threshold = at_half["best_f1_thresh"]
    floor, accuracy, count = tentative_floor([reader.score_margin(o.margin) for o in spans], right, threshold)
    calibration = Calibration(scale, bias, threshold, floor)
    reader.set_calibration(calibration, nlp)
    after, _, _ = score_outputs(outputs, golds, reader.score_margin, calibration.no_answer_threshold)
    after["tentative"] = {"floor": floor, "questions": count, "share": count / max(len(outputs), 1), "right": accuracy}
    return CalibrationReport(calibration, len(outputs), before, after)
