"""Turn start/end logits into answers: n-best span search and the no-answer rule."""
import math
from typing import List, NamedTuple, Optional, Sequence

import numpy


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
) -> Optional[SpanCandidate]:
    """The best span in one window, or None.

    Only context tokens can start or end an answer; the end may not precede
    the start and the answer is at most `max_answer_length` tokens long.
    """
    ctx = numpy.fromiter((i for i, o in enumerate(offsets) if o is not None), dtype="int64")
    if ctx.size == 0:
        return None
    s = start_logits[ctx]
    e = end_logits[ctx]
    k = min(n_best, ctx.size)
    top_s = numpy.argpartition(-s, k - 1)[:k]
    top_e = numpy.argpartition(-e, k - 1)[:k]
    total = s[top_s][:, None] + e[top_e][None, :]
    length = ctx[top_e][None, :] - ctx[top_s][:, None]
    total = numpy.where((length >= 0) & (length < max_answer_length), total, -numpy.inf)
    flat = int(numpy.argmax(total))
    best = total.flat[flat]
    if not numpy.isfinite(best):
        return None
    i, j = divmod(flat, k)
    null = float(start_logits[0] + end_logits[0])
    start_tok, end_tok = int(ctx[top_s[i]]), int(ctx[top_e[j]])
    return SpanCandidate(float(best) - null, offsets[start_tok][0], offsets[end_tok][1])


def decode_spans(
    start_logits: List[numpy.ndarray],
    end_logits: List[numpy.ndarray],
    offsets: List[Sequence[Optional[tuple]]],
    pair_index: Sequence[int],
    n_pairs: int,
    *,
    n_best: int = 20,
    max_answer_length: int = 30,
) -> List[Optional[SpanCandidate]]:
    """The best span of each question+context pair across its windows."""
    best: List[Optional[SpanCandidate]] = [None] * n_pairs
    for w, pair in enumerate(pair_index):
        found = best_span_in_window(
            start_logits[w], end_logits[w], offsets[w], n_best, max_answer_length
        )
        if found is not None and (best[pair] is None or found.margin > best[pair].margin):
            best[pair] = found
    return best
