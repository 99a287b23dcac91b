"""Turn start/end logits into answers: n-best span search over whole spaCy
tokens inside one sentence (see `boundaries`), and the score of a span."""
import math
from typing import List, NamedTuple, Optional, Sequence

import numpy

from .boundaries import AnswerBoundaries


class SpanCandidate(NamedTuple):
    """A question's best span in a context, before the no-answer rule."""

    margin: float  # logit margin over the null answer (see span_score)
    start_char: int
    end_char: int


def span_score(margin: float) -> float:
    """Score of a span whose logit margin over the null answer is `margin`.

    margin = (start[i] + end[j]) - (start[0] + end[0]), where position 0 is
    the [CLS] token that SQuAD 2.0 training uses for "no answer". The score is
    sigmoid(margin) = P(span) / (P(span) + P(null)) under the model's start and
    end softmaxes; the softmax normalisers cancel, so the score does not depend
    on the window's length or on which other spans the window holds, which is
    what makes answers from different passages and documents comparable.
    """
    if margin >= 0:
        return 1.0 / (1.0 + math.exp(-margin))
    z = math.exp(margin)
    return z / (1.0 + z)


def best_span_in_window(
    start_logits: numpy.ndarray,
    end_logits: numpy.ndarray,
    offsets: Sequence[Optional[tuple]],
    n_best: int,
    max_answer_length: int,
    boundaries: Optional[AnswerBoundaries] = None,
) -> Optional[SpanCandidate]:
    """The best span in one window, or None.

    Only context tokens can start or end an answer; the end may not precede
    the start and the answer is at most `max_answer_length` tokens long. With
    `boundaries`, a span starts where a spaCy token starts, ends where one
    ends, and stays inside one sentence.
    """
    ctx = numpy.fromiter((i for i, o in enumerate(offsets) if o is not None), dtype="int64")
    if ctx.size == 0:
        return None
    first_char = numpy.fromiter((offsets[i][0] for i in ctx), dtype="int64", count=ctx.size)
    last_char = numpy.fromiter((offsets[i][1] for i in ctx), dtype="int64", count=ctx.size)
    if boundaries is None:
        can_start = can_end = numpy.ones(ctx.size, dtype=bool)
        start_sentence = end_sentence = numpy.zeros(ctx.size, dtype="int64")
    else:
        can_start = numpy.isin(first_char, boundaries.token_starts)
        can_end = numpy.isin(last_char, boundaries.token_ends)
        start_sentence = boundaries.sentence_of(first_char)
        end_sentence = boundaries.sentence_of(last_char - 1)
    starts, ends = numpy.flatnonzero(can_start), numpy.flatnonzero(can_end)  # positions in ctx
    if starts.size == 0 or ends.size == 0:
        return None
    s = start_logits[ctx[starts]]
    e = end_logits[ctx[ends]]
    top_s = starts[_top(s, n_best)]
    top_e = ends[_top(e, n_best)]
    total = start_logits[ctx[top_s]][:, None] + end_logits[ctx[top_e]][None, :]
    length = ctx[top_e][None, :] - ctx[top_s][:, None]
    same_sentence = start_sentence[top_s][:, None] == end_sentence[top_e][None, :]
    total = numpy.where((length >= 0) & (length < max_answer_length) & same_sentence, total, -numpy.inf)
    flat = int(numpy.argmax(total))
    best = total.flat[flat]
    if not numpy.isfinite(best):
        return None
    i, j = divmod(flat, total.shape[1])
    null = float(start_logits[0] + end_logits[0])
    return SpanCandidate(float(best) - null, int(first_char[top_s[i]]), int(last_char[top_e[j]]))


def _top(scores: numpy.ndarray, k: int) -> numpy.ndarray:
    """Indices of the `k` largest scores (all of them when there are fewer)."""
    k = min(k, scores.size)
    return numpy.argpartition(-scores, k - 1)[:k]


def decode_spans(
    start_logits: List[numpy.ndarray],
    end_logits: List[numpy.ndarray],
    offsets: List[Sequence[Optional[tuple]]],
    pair_index: Sequence[int],
    n_pairs: int,
    *,
    n_best: int = 20,
    max_answer_length: int = 30,
    boundaries: Optional[Sequence[Optional[AnswerBoundaries]]] = None,
) -> List[Optional[SpanCandidate]]:
    """The best span of each question+context pair across its windows
    (`boundaries`: one per pair, see `best_span_in_window`)."""
    best: List[Optional[SpanCandidate]] = [None] * n_pairs
    for w, pair in enumerate(pair_index):
        found = best_span_in_window(
            start_logits[w], end_logits[w], offsets[w], n_best, max_answer_length,
            boundaries[pair] if boundaries is not None else None,
        )
        if found is not None and (best[pair] is None or found.margin > best[pair].margin):
            best[pair] = found
    return best
