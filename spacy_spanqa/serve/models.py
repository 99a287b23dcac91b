"""Request and response bodies of the HTTP API, built from the results types.

Requests forbid unknown fields, so a misspelt field is an error, not ignored.
"""
from typing import List, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..results import Answer, Passage, QAResult
from .settings import DEFAULT_MAX_QUESTION_CHARS, MAX_QUESTIONS_PER_REQUEST

MAX_SOURCES = 3  # closest sources listed with "I don't know"
MAX_CORRECTION_CHARS = 2000
# Calibrated score bands, as words: at least 0.75 is "high", at least 0.4 "medium" (the
# shipped reader's no-answer threshold is 0.387, so its answers are medium or high).
CONFIDENCE_WORDS = ((0.75, "high"), (0.4, "medium"), (0.0, "low"))


def confidence_words(score: float) -> str:
    """The calibrated score in words: high, medium or low."""
    return next(word for floor, word in CONFIDENCE_WORDS if score >= floor)


def _check_question(question: str) -> str:
    if not question.strip():
        raise ValueError("Empty question: ask a question with at least one word.")
    if len(question) > DEFAULT_MAX_QUESTION_CHARS:
        raise ValueError(
            f"The question is {len(question)} characters long; shorten it to {DEFAULT_MAX_QUESTION_CHARS} or fewer."
        )
    return question


class AskRequest(BaseModel):
    """One question (`question`) or a batch (`questions`), never both."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"question": "How many vacation days do I get?"}]})

    question: Optional[str] = Field(None, description=f"One question, at most {DEFAULT_MAX_QUESTION_CHARS} characters.")
    questions: Optional[List[str]] = Field(
        None, description=f"A batch of up to {MAX_QUESTIONS_PER_REQUEST} questions, answered in order."
    )
    user: Optional[str] = Field(None, max_length=64, description="Who asks (any id of yours), kept with the answer.")

    @field_validator("question")
    @classmethod
    def _one(cls, question: Optional[str]) -> Optional[str]:
        return None if question is None else _check_question(question)

    @field_validator("questions")
    @classmethod
    def _many(cls, questions: Optional[List[str]]) -> Optional[List[str]]:
        if questions is None:
            return None
        if not questions:
            raise ValueError("`questions` is empty: send at least one question.")
        if len(questions) > MAX_QUESTIONS_PER_REQUEST:
            raise ValueError(
                f"{len(questions)} questions in one request; send at most {MAX_QUESTIONS_PER_REQUEST} at a time."
            )
        return [_check_question(q) for q in questions]

    @model_validator(mode="after")
    def _exactly_one(self) -> "AskRequest":
        if (self.question is None) == (self.questions is None):
            raise ValueError('Send either "question" (one) or "questions" (a list), not both or neither.')
        return self

    @property
    def batch(self) -> List[str]:
        return [self.question] if self.question is not None else list(self.questions or [])


class Source(BaseModel):
    """Where a passage comes from: its document's title, path and URL (when the index has one)."""

    title: str
    path: str
    url: Optional[str] = None

    @classmethod
    def of(cls, passage: Passage) -> "Source":
        return cls(title=passage.title or passage.path, path=passage.path, url=passage.url)


class SpanInPassage(BaseModel):
    """A verbatim span of a passage: `passage_text[start_char:end_char] == text`."""

    text: str
    score: float = Field(description="Calibrated confidence in (0, 1), comparable across questions.")
    confidence: str = Field(description="The score in words: high (>= 0.75), medium (>= 0.4) or low.")
    source: Source
    passage_id: str
    passage_text: str
    start_char: int = Field(description="Offset of the span in passage_text (characters).")
    end_char: int

    @classmethod
    def of(cls, answer: Answer) -> "SpanInPassage":
        p = answer.passage
        return cls(
            text=answer.text, score=round(float(answer.score), 4), confidence=confidence_words(answer.score),
            source=Source.of(p), passage_id=p.id, passage_text=p.text,
            start_char=answer.start_char, end_char=answer.end_char,
        )


class AnswerResponse(BaseModel):
    """The answer to one question; `answer` is None for "I don't know"."""

    answer_id: str = Field(description="Id for /feedback/vote and /feedback/correction.")
    question: str
    answered: bool
    answer: Optional[SpanInPassage] = None
    tentative: Optional[SpanInPassage] = Field(
        None, description='With "I don\'t know": the best span, below the answer threshold. Show it as "not sure".'
    )
    candidates: List[SpanInPassage] = Field(default_factory=list, description="Other answers, best first.")
    closest_sources: List[Source] = Field(
        default_factory=list, description="The documents of the best passages read, without repeats."
    )

    @classmethod
    def of(cls, answer_id: str, result: QAResult) -> "AnswerResponse":
        sources: List[Source] = []
        for r in result.passages:
            source = Source.of(r.passage)
            if source not in sources:
                sources.append(source)
        return cls(
            answer_id=answer_id,
            question=result.question,
            answered=result.answer is not None,
            answer=SpanInPassage.of(result.answer) if result.answer is not None else None,
            tentative=SpanInPassage.of(result.tentative) if result.tentative is not None else None,
            candidates=[SpanInPassage.of(c) for c in result.candidates if c.passage is not None],
            closest_sources=sources[:MAX_SOURCES],
        )


class BatchResponse(BaseModel):
    """Answers to a batch, in the order asked."""

    results: List[AnswerResponse]


class VoteRequest(BaseModel):
    """Helpful or Not helpful on an answer; voting again replaces the earlier vote."""

    model_config = ConfigDict(extra="forbid")

    answer_id: str = Field(max_length=32)
    vote: str = Field(description='"helpful" or "not_helpful".')
    user: str = Field("web", min_length=1, max_length=64, description="Who votes: one vote per user and answer.")

    @field_validator("vote")
    @classmethod
    def _known(cls, vote: str) -> str:
        from ..bot.feedback import VOTES

        if vote not in VOTES:
            raise ValueError(f"Unknown vote {vote!r}; send one of {', '.join(VOTES)}.")
        return vote


class CorrectionRequest(BaseModel):
    """The right answer to an answer, or that the documents do not answer it."""

    model_config = ConfigDict(extra="forbid")

    answer_id: str = Field(max_length=32)
    text: Optional[str] = Field(None, max_length=MAX_CORRECTION_CHARS, description="The right answer, as text.")
    no_answer: bool = Field(False, description="True: the documents don't answer this question.")
    user: str = Field("web", min_length=1, max_length=64)

    @model_validator(mode="after")
    def _something(self) -> "CorrectionRequest":
        if not self.no_answer and not (self.text or "").strip():
            raise ValueError('Empty correction: send "text" (the right answer) or "no_answer": true.')
        return self


class FeedbackSaved(BaseModel):
    """What a vote or correction did."""

    answer_id: str
    saved: str = Field(description="What was recorded, in a sentence.")
    found_in_passage: Optional[bool] = Field(None, description="Corrections: the text occurs in a passage read.")


class Health(BaseModel):
    status: str
    knowledge_bases: List[str]
    database: str
    documents: Optional[int] = Field(None, description="Documents in the index, where the index lists them.")


class ErrorBody(BaseModel):
    """Every 4xx/5xx: one sentence, and for invalid requests the validation details."""

    error: str
    detail: Optional[list] = None
