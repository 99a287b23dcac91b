"""Result types shared by the reader, the retriever and the front ends."""
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from spacy.tokens import Span


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
    span: Optional[Span] = None
    no_answer: bool = False
    question_id: Optional[str] = None
    # Filled in by the retrieval layer: where the context came from.
    passage: Optional[Any] = None

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
class QAWindows:
    """Question+context pairs cut into model-sized windows (unpadded).

    `offsets[w][t]` is the (start, end) character range of token t in the
    context of pair `pair_index[w]`, or None when t is not a context token.
    `labels` holds (start_token, end_token) training targets; (0, 0) points at
    the first ([CLS]) token, the null answer.
    """

    input_ids: List[List[int]]
    token_type_ids: Optional[List[List[int]]]
    offsets: List[List[Optional[tuple]]]
    pair_index: List[int]
    labels: List[tuple] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.input_ids)
