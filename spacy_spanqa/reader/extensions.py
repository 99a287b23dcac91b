"""The Doc extensions span_qa reads and writes.

- `doc._.qa_questions`: questions to answer when the pipe runs: strings or
  dicts with "question" (and optional "id", gold "answers").
- `doc._.qa_answers`: one `Answer` per question, in the same order.
- `doc._.ask(question)`: answer one question now with the span_qa component
  of the pipeline that made the Doc.
"""
import weakref
from typing import Dict

from spacy.tokens import Doc

QUESTIONS_ATTR = "qa_questions"
ANSWERS_ATTR = "qa_answers"

# Vocab objects cannot be weak-referenced, so readers are keyed by id(vocab)
# and held weakly: a pipeline that is garbage-collected drops out.
_READERS: Dict[int, "weakref.ReferenceType"] = {}


def register_reader(vocab, component) -> None:
    _READERS[id(vocab)] = weakref.ref(component)


def _ask(doc: Doc, question: str, **kwargs):
    ref = _READERS.get(id(doc.vocab))
    component = ref() if ref is not None else None
    if component is None:
        raise ValueError(
            "doc._.ask needs a span_qa component: make the Doc with a pipeline that has "
            "one (nlp.add_pipe('span_qa'))."
        )
    return component.ask(doc, question, **kwargs)


def ensure_extensions() -> None:
    if not Doc.has_extension(QUESTIONS_ATTR):
        Doc.set_extension(QUESTIONS_ATTR, default=None)
    if not Doc.has_extension(ANSWERS_ATTR):
        Doc.set_extension(ANSWERS_ATTR, default=None)
    if not Doc.has_extension("ask"):
        Doc.set_extension("ask", method=_ask)
