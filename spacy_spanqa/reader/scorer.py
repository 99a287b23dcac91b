"""The registered spaCy scorer `spacy_spanqa.qa_scorer.v1`: SQuAD EM/F1 of span_qa's answers."""
from typing import Dict, Iterable, List, Optional

from spacy.training import Example
from spacy.util import registry

from ..squad.metric import squad_evaluate
from .extensions import ANSWERS_ATTR, QUESTIONS_ATTR


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
