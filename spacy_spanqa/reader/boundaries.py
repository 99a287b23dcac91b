"""Where an answer may start and end: at whole spaCy tokens, inside one sentence.

The model's subword tokens do not know spaCy's tokens, so unconstrained
decoding can stop inside one ("travel@northwind" of "travel@northwind.example").
Decoding only starts a span at the first model token of a spaCy token and
ends it at the last, so the text, the score and the Span describe the same
characters. Gold answers cross a sentence boundary in under 1% of SQuAD-style
questions (3% in dialogue), while spans that do are almost always wrong, so
an answer also stays inside one sentence.
"""
from dataclasses import dataclass
from typing import Union

import numpy
from spacy.pipeline import Sentencizer
from spacy.tokens import Doc

from ..sentences import sentencizer


@dataclass
class AnswerBoundaries:
    """Character offsets of a context's token starts and ends and of its sentence starts, each sorted."""

    token_starts: numpy.ndarray
    token_ends: numpy.ndarray
    sentence_starts: numpy.ndarray

    def sentence_of(self, chars: numpy.ndarray) -> numpy.ndarray:
        """The index of the sentence each character offset falls in."""
        return numpy.searchsorted(self.sentence_starts, chars, side="right") - 1


def answer_boundaries(context: Union[Doc, str], lang: str = "en") -> AnswerBoundaries:
    """The boundaries of a Doc (its own tokens; its sentences, or the
    rule-based sentencizer's when it has none), or of a text tokenized by a
    blank `lang` pipeline."""
    if isinstance(context, Doc):
        doc = context
        if doc.has_annotation("SENT_START"):
            first = [s.start for s in doc.sents]
        else:  # predict only: the caller's Doc is not changed
            [guesses] = Sentencizer().predict([doc])
            first = [i for i, is_start in enumerate(guesses) if is_start]
    else:
        doc = sentencizer(lang)(context)
        first = [s.start for s in doc.sents]
    starts = numpy.fromiter((t.idx for t in doc), dtype="int64", count=len(doc))
    ends = numpy.fromiter((t.idx + len(t) for t in doc), dtype="int64", count=len(doc))
    sentence_starts = starts[first] if len(doc) else numpy.zeros(1, dtype="int64")
    if sentence_starts.size == 0 or sentence_starts[0] > 0:
        sentence_starts = numpy.concatenate([[0], sentence_starts])
    return AnswerBoundaries(starts, ends, sentence_starts)
