"""Encode question+context pairs as overlapping windows with the fast tokenizer.

The fast tokenizer's truncation with a stride, its offsets and sequence ids
do the windowing (driven on the `tokenizers` library directly, as transformers'
fast tokenizers do, so the torch-free reader cuts the same windows); we only
trim long questions and turn gold character spans into token targets.
"""
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy
from tokenizers import Tokenizer


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


def text_tokenizer(tokenizer) -> Tuple[Tokenizer, bool]:
    """The `tokenizers.Tokenizer` that does the work (a transformers fast
    tokenizer's backend, or the one given) and whether the model takes token type ids."""
    if isinstance(tokenizer, Tokenizer):
        return tokenizer, True
    return tokenizer.backend_tokenizer, "token_type_ids" in tokenizer.model_input_names


def truncate_questions(tokenizer, questions: Sequence[str], max_query_length: int) -> List[str]:
    """Cut questions longer than `max_query_length` tokens at a token boundary."""
    backend, _ = text_tokenizer(tokenizer)
    backend.no_truncation()
    backend.no_padding()
    out = []
    for question, enc in zip(questions, backend.encode_batch(list(questions), add_special_tokens=False)):
        if len(enc.offsets) > max_query_length:
            question = question[: enc.offsets[max_query_length - 1][1]]
        out.append(question)
    return out


def encode_windows(
    tokenizer,
    questions: Sequence[str],
    contexts: Sequence[str],
    *,
    max_seq_length: int,
    doc_stride: int,
    max_query_length: int = 64,
    answers: Optional[Sequence[Optional[Tuple[int, int]]]] = None,
) -> QAWindows:
    """Tokenize pairs into windows of at most `max_seq_length` tokens.

    `doc_stride` is the number of context tokens consecutive windows share
    (Hugging Face's `stride`), so every context token is seen in full. With
    `answers` (gold (start_char, end_char) or None per pair) the windows get
    start/end token labels; a window that does not hold the whole answer is
    labelled with the null position 0.
    """
    if not questions:
        return QAWindows([], None, [], [], [])
    questions = truncate_questions(tokenizer, questions, max_query_length)
    backend, with_types = text_tokenizer(tokenizer)
    backend.enable_truncation(max_seq_length, stride=doc_stride, strategy="only_second", direction="right")
    backend.no_padding()
    encoded = backend.encode_batch(list(zip(questions, contexts)))
    windows = [(pair, e) for pair, enc in enumerate(encoded) for e in [enc, *enc.overflowing]]
    offsets: List[List[Optional[tuple]]] = []
    labels: List[tuple] = []
    for pair, e in windows:
        ctx = [tuple(o) if s == 1 else None for o, s in zip(e.offsets, e.sequence_ids)]
        offsets.append(ctx)
        if answers is not None:
            labels.append(_token_targets(ctx, answers[pair]))
    token_type_ids = [e.type_ids for _, e in windows] if with_types else None
    return QAWindows([e.ids for _, e in windows], token_type_ids, offsets, [p for p, _ in windows], labels)


def _token_targets(offsets: List[Optional[tuple]], answer: Optional[Tuple[int, int]]) -> tuple:
    if answer is None:
        return (0, 0)
    start_char, end_char = answer
    ctx = [i for i, o in enumerate(offsets) if o is not None]
    if not ctx or offsets[ctx[0]][0] > start_char or offsets[ctx[-1]][1] < end_char:
        return (0, 0)
    start = max(i for i in ctx if offsets[i][0] <= start_char)
    end = min(i for i in ctx if offsets[i][1] >= end_char)
    return (start, end) if start <= end else (0, 0)


def pad_batch(windows: QAWindows, indices: Sequence[int], pad_id: int) -> dict:
    """Pad the chosen windows to the longest of them (not to max_seq_length)."""
    width = max(len(windows.input_ids[i]) for i in indices)
    n = len(indices)
    input_ids = numpy.full((n, width), pad_id, dtype="int64")
    mask = numpy.zeros((n, width), dtype="int64")
    types = numpy.zeros((n, width), dtype="int64") if windows.token_type_ids is not None else None
    for row, i in enumerate(indices):
        ids = windows.input_ids[i]
        input_ids[row, : len(ids)] = ids
        mask[row, : len(ids)] = 1
        if types is not None:
            types[row, : len(ids)] = windows.token_type_ids[i]
    batch = {"input_ids": input_ids, "attention_mask": mask}
    if types is not None:
        batch["token_type_ids"] = types
    return batch


def length_sorted_batches(windows: QAWindows, batch_size: int) -> List[List[int]]:
    """Group windows of similar length so padding wastes almost nothing."""
    order = sorted(range(len(windows)), key=lambda i: len(windows.input_ids[i]))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
