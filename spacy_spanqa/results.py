"""What questions get back: passages, answers and results, as plain dataclasses.

No spaCy or torch here, so the Slack bot and other front ends import these
without loading the reader.
"""
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Protocol, Sequence

if TYPE_CHECKING:  # only for the annotation: importing spaCy here would defeat the point
    from spacy.tokens import Span


@dataclass
class Passage:
    """A retrievable piece of a document; `text` is `document.text[start_char:end_char]`.

    `document_id` names the document (a file, a JSON record, a SQuAD paragraph)
    the passage was cut from; `id` is unique per passage.
    """

    id: str
    text: str
    title: str
    path: str
    url: Optional[str]
    start_char: int
    end_char: int
    metadata: Dict[str, Any] = field(default_factory=dict)
    document_id: str = ""

    def __post_init__(self) -> None:
        if not self.document_id:  # passages stored before 0.3 have ids "<document id>#<n>"
            self.document_id = self.id.rsplit("#", 1)[0]

    def to_dict(self) -> Dict[str, Any]:
        # Not dataclasses.asdict: its recursive deep copy dominated indexing time.
        return {
            "id": self.id, "text": self.text, "title": self.title, "path": self.path, "url": self.url,
            "start_char": self.start_char, "end_char": self.end_char, "metadata": dict(self.metadata),
            "document_id": self.document_id,
        }

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Passage":
        text = data["text"]
        return cls(
            id=str(data["id"]),
            text=text,
            title=data.get("title") or "",
            path=data.get("path") or "",
            url=data.get("url"),
            start_char=int(data.get("start_char", 0)),
            end_char=int(data.get("end_char", len(text))),
            metadata=dict(data.get("metadata") or {}),
            document_id=str(data.get("document_id") or ""),
        )


@dataclass
class Answer:
    """One question's answer over one context.

    `text` is `context[start_char:end_char]`, verbatim. `span` is the smallest
    spaCy Span covering those characters (None for no-answer or when the
    context is not a Doc). `score` is in (0, 1) and comparable across contexts:
    see `decoding.span_score`. A no-answer keeps the best candidate's score so
    callers can see how close it came; its `text` is "".
    """

    question: str
    text: str
    score: float
    start_char: int = -1
    end_char: int = -1
    span: Optional["Span"] = None
    no_answer: bool = False
    question_id: Optional[str] = None
    # Filled in by QuestionAnswerer: the retrieved passage the answer was read from.
    passage: Optional[Passage] = None

    def to_dict(self) -> Dict[str, Any]:
        return {
            "id": self.question_id,
            "question": self.question,
            "answer": None if self.no_answer else self.text,
            "score": round(float(self.score), 4),
            "start_char": self.start_char,
            "end_char": self.end_char,
        }


@dataclass
class RetrievedPassage:
    """A passage the retriever returned for a question, with its retrieval score."""

    passage: Passage
    bm25_score: float  # the index's score: BM25, or cosine / fused for a dense or hybrid index (name kept for 0.2 JSON)


@dataclass
class QAResult:
    """The answer to one question (None: no passage holds one), the other
    candidate answers best first, and the retrieved passages in rank order.

    `tentative` is set only when `answer` is None: the reader's best span,
    scored below the no-answer threshold but above its tentative floor. Show
    it as "not sure", never as the answer.
    """

    question: str
    answer: Optional[Answer]
    candidates: List[Answer] = field(default_factory=list)
    passages: List[RetrievedPassage] = field(default_factory=list)
    tentative: Optional[Answer] = None

    def to_dict(self) -> Dict[str, Any]:
        a = self.answer
        return {
            "question": self.question,
            "answer": a.text if a else None,
            "score": round(a.score, 4) if a else None,
            "source": _source(a.passage) if a else None,
            "passage": (
                {**_source(a.passage), "id": a.passage.id, "text": a.passage.text,
                 "answer_start": a.start_char, "answer_end": a.end_char}
                if a else None
            ),
            "passages": [
                {"id": r.passage.id, "text": r.passage.text, **_source(r.passage),
                 "bm25_score": round(r.bm25_score, 4)}
                for r in self.passages
            ],
            "tentative": _tentative(self.tentative) if self.tentative else None,
        }


class Answerer(Protocol):
    """What front ends (the CLI, the Slack bot) need: questions in, results out.
    `QuestionAnswerer` is one; tests use light stand-ins."""

    def ask(self, question: str, top_k: Optional[int] = None) -> QAResult: ...

    def ask_many(self, questions: Sequence[str], top_k: Optional[int] = None) -> List[QAResult]: ...


def _tentative(a: Answer) -> Dict[str, Any]:
    return {"text": a.text, "score": round(a.score, 4), "source": _source(a.passage),
            "passage": {"id": a.passage.id, "answer_start": a.start_char, "answer_end": a.end_char}}


def _source(p: Passage) -> Dict[str, Optional[str]]:
    return {"title": p.title, "path": p.path, "url": p.url}
