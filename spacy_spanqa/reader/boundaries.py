"""Where an answer may start and end: at whole spaCy tokens, inside one sentence.

The model's subword tokens do not know spaCy's tokens, so unconstrained
decoding can stop inside one ("travel@northwind" of "travel@northwind.example").
Decoding only starts a span at the first model token of a spaCy token and
ends it at the last, so the text, the score and the Span describe the same
characters. Gold answers cross a sentence boundary in under 1% of SQuAD-style
questions (3% in dialogue), while spans that do are almost always wrong, so
an answer also stays inside one sentence.
"""
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

import numpy

from ..sentences import sentencizer

if TYPE_CHECKING:  # spaCy is imported when boundaries are computed, not before (see boundary_cache)
    from spacy.tokens import Doc


@dataclass(frozen=True)
class AnswerBoundaries:
    """Character offsets of a context's token starts and ends and of its sentence starts, each sorted."""

    token_starts: numpy.ndarray
    token_ends: numpy.ndarray
    sentence_starts: numpy.ndarray

    def sentence_of(self, chars: numpy.ndarray) -> numpy.ndarray:
        """The index of the sentence each character offset falls in."""
        return numpy.searchsorted(self.sentence_starts, chars, side="right") - 1


def answer_boundaries(context: Union["Doc", str], lang: str = "en") -> AnswerBoundaries:
    """The boundaries of a Doc (its own tokens; its sentences, or the
    rule-based sentencizer's when it has none), or of a text tokenized by a
    blank `lang` pipeline (cached: a knowledge base's passages come back)."""
    if isinstance(context, str):
        return _text_boundaries(context, lang)
    return _boundaries(context)


@functools.lru_cache(maxsize=2048)
def _text_boundaries(text: str, lang: str) -> AnswerBoundaries:
    return _boundaries(text, lang)


def _boundaries(context: Union["Doc", str], lang: str = "en") -> AnswerBoundaries:
    from spacy.attrs import IDX, LENGTH, SENT_START
    from spacy.pipeline import Sentencizer

    if not isinstance(context, str):
        doc = context
        if doc.has_annotation("SENT_START"):
            sent_start = doc.to_array(SENT_START) == 1
        else:  # predict only: the caller's Doc is not changed
            [guesses] = Sentencizer().predict([doc])
            sent_start = numpy.asarray(guesses, dtype=bool)
    else:
        doc = sentencizer(lang)(context)
        sent_start = doc.to_array(SENT_START) == 1
    if len(doc) == 0:
        empty = numpy.zeros(0, dtype="int64")
        return AnswerBoundaries(empty, empty, numpy.zeros(1, dtype="int64"))
    offsets = doc.to_array([IDX, LENGTH]).astype("int64")  # one call, not a Token object per token
    starts, ends = offsets[:, 0], offsets[:, 0] + offsets[:, 1]
    sent_start[0] = True
    sentence_starts = starts[sent_start]
    if sentence_starts[0] > 0:
        sentence_starts = numpy.concatenate([[0], sentence_starts])
    return AnswerBoundaries(starts, ends, sentence_starts)
