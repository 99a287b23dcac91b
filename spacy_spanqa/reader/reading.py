"""Answering (context, question) pairs from a QA model's start/end logits: windows,
batches, decoding over whole spaCy tokens, the calibrated score and the no-answer rule.

The span_qa pipe (PyTorch or ONNX Runtime) and the torch-free `FastReader`
share this, so both give the same answers from the same logits.
"""
import sys
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple, Union

import numpy

from ..results import Answer
from .boundaries import AnswerBoundaries, answer_boundaries
from .decoding import SpanCandidate, decode_spans, span_score
from .windows import QAWindows, encode_windows, length_sorted_batches, pad_batch

if TYPE_CHECKING:
    from spacy.tokens import Doc

Context = Union["Doc", str]


class SpanReading:
    """What a reader needs besides the model: subclasses set `cfg` (the span_qa
    settings) and give `lang`, `_tokenizer()`, `_pad_id()` and `_logits(batch)`."""

    cfg: dict

    @property
    def lang(self) -> str:
        raise NotImplementedError

    def _tokenizer(self):
        """A transformers fast tokenizer or a `tokenizers.Tokenizer`."""
        raise NotImplementedError

    def _pad_id(self) -> int:
        raise NotImplementedError

    def _logits(self, batch: dict) -> Tuple[numpy.ndarray, numpy.ndarray]:
        raise NotImplementedError

    @property
    def runtime(self) -> str:
        """How CPU inference runs: "torch", "onnx" or "int8" (see `make_span_qa`)."""
        return self.cfg["runtime"]

    def ask(self, context: Context, question: str) -> Answer:
        """Answer one question over one Doc or text."""
        return self.answer_pairs([(context, question)])[0]

    def answer_pairs(
        self, pairs: Sequence[Tuple[Context, str]], no_answer_threshold: Optional[float] = None
    ) -> List[Answer]:
        """Answer (context, question) pairs in one batched pass over all windows.

        `no_answer_threshold` overrides the component's setting for this call.
        """
        questions = [check_question(q) for _, q in pairs]
        best = self._best_spans(questions, [c if is_doc(c) else str(c) for c, _ in pairs])
        return [
            self._make_answer(c, q, b, threshold=no_answer_threshold)
            for (c, _), q, b in zip(pairs, questions, best)
        ]

    def score_margin(self, margin: float) -> float:
        """The calibrated score of a span whose logit margin over the null answer is `margin`."""
        return span_score(self.cfg["score_scale"] * margin + self.cfg["score_bias"])

    def _best_spans(self, questions: List[str], contexts: List[Context]) -> List[Optional[SpanCandidate]]:
        """The best span of each pair (whole spaCy tokens, one sentence); None for an empty context."""
        texts = [c.text if is_doc(c) else c for c in contexts]
        live = [i for i, t in enumerate(texts) if t.strip()]
        best: List[Optional[SpanCandidate]] = [None] * len(questions)
        if not live:
            return best
        found = self._read(
            [questions[i] for i in live], [texts[i] for i in live], self._boundaries([contexts[i] for i in live])
        )
        for i, b in zip(live, found):
            best[i] = b
        return best

    def _boundaries(self, contexts: List[Context]) -> List[AnswerBoundaries]:
        """Where each context's answers may start and end; a context asked several questions is split once."""
        found: Dict[Union[int, str], AnswerBoundaries] = {}
        out = []
        for c in contexts:
            key = id(c) if is_doc(c) else c
            if key not in found:
                found[key] = answer_boundaries(c, self.lang)
            out.append(found[key])
        return out

    def _read(
        self, questions: List[str], contexts: List[str], boundaries: List[AnswerBoundaries]
    ) -> List[Optional[SpanCandidate]]:
        windows = self._encode(questions, contexts)
        starts: List[Optional[numpy.ndarray]] = [None] * len(windows)
        ends: List[Optional[numpy.ndarray]] = [None] * len(windows)
        pad_id = self._pad_id()
        for indices in length_sorted_batches(windows, self.cfg["batch_size"]):
            batch = pad_batch(windows, indices, pad_id)
            s, e = self._logits(batch)
            for row, w in enumerate(indices):
                n = len(windows.input_ids[w])
                starts[w], ends[w] = s[row, :n], e[row, :n]
        return decode_spans(
            starts,
            ends,
            windows.offsets,
            windows.pair_index,
            len(questions),
            n_best=self.cfg["n_best"],
            max_answer_length=self.cfg["max_answer_length"],
            boundaries=boundaries,
        )

    def _encode(self, questions, contexts, answers=None) -> QAWindows:
        return encode_windows(
            self._tokenizer(),
            questions,
            contexts,
            max_seq_length=self.cfg["max_seq_length"],
            doc_stride=self.cfg["doc_stride"],
            max_query_length=self.cfg["max_query_length"],
            answers=answers,
        )

    def _make_answer(
        self, context: Context, question, best: Optional[SpanCandidate], qid=None, threshold=None
    ) -> Answer:
        if best is None:
            return Answer(question, "", 0.0, no_answer=True, question_id=qid)
        score = self.score_margin(best.margin)
        if threshold is None:
            threshold = self.cfg["no_answer_threshold"]
        if score < threshold:
            return Answer(question, "", score, no_answer=True, question_id=qid)
        text = context.text if is_doc(context) else context
        span = None
        if is_doc(context):
            span = context.char_span(best.start_char, best.end_char, label=question, alignment_mode="expand")
        return Answer(
            question, text[best.start_char : best.end_char], score, best.start_char, best.end_char, span, question_id=qid
        )


def is_doc(context) -> bool:
    """Whether `context` is a spaCy Doc, without importing spaCy (no Doc exists before it is imported)."""
    doc = sys.modules.get("spacy.tokens.doc")
    return doc is not None and isinstance(context, doc.Doc)


def check_question(question) -> str:
    """The question stripped; an empty one is refused in one sentence."""
    if not isinstance(question, str) or not question.strip():
        raise ValueError("Empty question: ask a question with at least one word.")
    return question.strip()
