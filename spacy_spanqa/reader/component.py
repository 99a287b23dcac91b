"""The `span_qa` pipeline component: extractive question answering over Docs."""
import threading
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import numpy
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc
from spacy.vocab import Vocab
from spacy.training import Example, validate_examples
from thinc.api import Config, Model, Optimizer, set_dropout_rate

from .calibration import Calibration
from .decoding import SpanCandidate
from .extensions import ANSWERS_ATTR, QUESTIONS_ATTR, ensure_extensions, register_reader
from .model import get_tokenizer, get_transformer, predict_logits
from .onnx_reader import OnnxReader
from .reading import SpanReading, check_question
from .runtime import RUNTIMES, check_runtime, runtime_from_flags  # noqa: F401  (public here too)
from .scorer import score_qa
from .windows import QAWindows, pad_batch

DEFAULT_CONFIG_STR = """
[model]
@architectures = "spacy_spanqa.HFQuestionAnswering.v1"
name = "SpanBERT/spanbert-base-cased"
tokenizer_name = null
mixed_precision = false
weights_dtype = "float32"
"""
DEFAULT_MODEL = Config().from_str(DEFAULT_CONFIG_STR)["model"]


@Language.factory(
    "span_qa",
    assigns=[f"doc._.{ANSWERS_ATTR}", "doc.spans"],
    default_config={
        "model": DEFAULT_MODEL,
        "spans_key": "qa",
        "max_seq_length": 384,
        "doc_stride": 128,
        "max_query_length": 64,
        "max_answer_length": 30,
        "n_best": 20,
        "no_answer_threshold": 0.5,
        "tentative_floor": 0.2,
        "score_scale": 1.0,
        "score_bias": 0.0,
        "batch_size": 8,
        "runtime": "torch",
        "scorer": {"@scorers": "spacy_spanqa.qa_scorer.v1"},
    },
    default_score_weights={"qa_f1": 1.0, "qa_exact": 0.0},
)
def make_span_qa(
    nlp: Language,
    name: str,
    model: Model,
    spans_key: str,
    max_seq_length: int,
    doc_stride: int,
    max_query_length: int,
    max_answer_length: int,
    n_best: int,
    no_answer_threshold: float,
    tentative_floor: float,
    score_scale: float,
    score_bias: float,
    batch_size: int,
    runtime: str,
    scorer: Optional[Callable],
    quantize: Optional[bool] = None,
    onnx: Optional[bool] = None,
) -> "SpanQA":
    """Answer questions over Docs with a transformer QA model.

    model (Model): A model returning start/end logits per token, e.g.
        spacy_spanqa.HFQuestionAnswering.v1 (`model.name`: any HF name or dir).
    spans_key (str): Key of `doc.spans` that receives the answer spans.
    max_seq_length (int): Tokens per window (question + context + specials).
    doc_stride (int): Context tokens shared by consecutive windows.
    max_query_length (int): Longer questions are cut to this many tokens.
    max_answer_length (int): Longest answer, in model tokens.
    n_best (int): Start and end candidates searched per window.
    no_answer_threshold (float): Answers scoring below it become no-answers.
    tentative_floor (float): A no-answer whose best span scores at least this
        is offered as a clearly marked tentative answer (`QAResult.tentative`);
        `spanqa calibrate` sets it where such spans are right often enough.
    score_scale (float): An answer's score is sigmoid(score_scale * margin +
        score_bias), where margin is the span's logit margin over the null
        answer. `spanqa calibrate` fits both on held-out questions, so that a
        score of 0.8 is right about 80% of the time; 1 and 0 leave the margin as is.
    score_bias (float): See score_scale.
    batch_size (int): Windows per forward pass at inference. Small batches of
        length-sorted windows keep activations in cache on CPU (8 measured
        faster than 32 here); raise it on GPU.
    runtime (str): CPU inference by "torch", "onnx" (a float32 ONNX Runtime
        copy of the model with fused attention: same answers) or "int8" (ONNX
        Runtime int8: faster, ~1 F1 lower). The copies are built on first use,
        in seconds; on GPU the model always runs in PyTorch.
    scorer (Optional[Callable]): Scores Examples; reports qa_exact and qa_f1.
    quantize (Optional[bool]): Deprecated (0.2's name): true means runtime "int8".
    onnx (Optional[bool]): Deprecated (0.2's name): true means runtime "onnx".
    """
    return SpanQA(
        nlp.vocab,
        model,
        name,
        spans_key=spans_key,
        max_seq_length=max_seq_length,
        doc_stride=doc_stride,
        max_query_length=max_query_length,
        max_answer_length=max_answer_length,
        n_best=n_best,
        no_answer_threshold=no_answer_threshold,
        tentative_floor=tentative_floor,
        score_scale=score_scale,
        score_bias=score_bias,
        batch_size=batch_size,
        runtime=runtime_from_flags(runtime, quantize=quantize, onnx=onnx),
        scorer=scorer,
    )


class SpanQA(SpanReading, TrainablePipe):
    """Extractive QA: questions on `doc._.qa_questions` get answers in
    `doc._.qa_answers` and `doc.spans[spans_key]`; `doc._.ask(q)` answers now.

    The keyword arguments are the factory's (see `make_span_qa`); they are
    kept in `self.cfg`, which is saved with the pipeline.
    """

    def __init__(
        self,
        vocab: Vocab,
        model: Model,
        name: str = "span_qa",
        *,
        spans_key: str,
        max_seq_length: int,
        doc_stride: int,
        max_query_length: int,
        max_answer_length: int,
        n_best: int,
        no_answer_threshold: float,
        tentative_floor: float,
        score_scale: float,
        score_bias: float,
        batch_size: int,
        runtime: str = "torch",
        scorer: Optional[Callable] = score_qa,
    ):
        if doc_stride >= max_seq_length // 2:
            raise ValueError("doc_stride must be less than half of max_seq_length.")
        check_runtime(runtime)
        self.vocab = vocab
        self.model = model
        self.name = name
        self.cfg = {
            "spans_key": spans_key,
            "max_seq_length": max_seq_length,
            "doc_stride": doc_stride,
            "max_query_length": max_query_length,
            "max_answer_length": max_answer_length,
            "n_best": n_best,
            "no_answer_threshold": no_answer_threshold,
            "tentative_floor": tentative_floor,
            "score_scale": score_scale,
            "score_bias": score_bias,
            "batch_size": batch_size,
            "runtime": runtime,
        }
        self.scorer = scorer
        self._onnx: Dict[str, OnnxReader] = {}  # ONNX Runtime copies by runtime, built on first use
        self._onnx_lock = threading.Lock()
        ensure_extensions()
        register_reader(vocab, self)

    # --- answering (shared with the torch-free reader: see reading.SpanReading) ---

    @property
    def lang(self) -> str:
        return self.vocab.lang or "en"

    def _tokenizer(self):
        return get_tokenizer(self.model)

    def _pad_id(self) -> int:
        return get_tokenizer(self.model).pad_token_id or 0

    def use_runtime(self, runtime: str) -> None:
        """Run CPU inference by "torch", "onnx" (float32 ONNX Runtime, same
        answers) or "int8" (ONNX Runtime int8: faster, ~1 F1 lower)."""
        check_runtime(runtime)
        self.cfg["runtime"] = runtime

    def set_calibration(self, calibration: Calibration, nlp: Optional[Language] = None) -> None:
        """Use a fitted score (scale, bias) and no-answer threshold. With `nlp`,
        its pipe config is updated too, so the saved config.cfg shows what cfg restores."""
        settings = calibration.to_dict()
        self.cfg.update(settings)
        if nlp is not None:
            nlp.get_pipe_config(self.name).update(settings)

    def _logits(self, batch: dict) -> Tuple[numpy.ndarray, numpy.ndarray]:
        """Start/end logits of a padded batch: PyTorch (float16 autocast on GPU if
        configured), or on CPU an ONNX Runtime session when the runtime is onnx or int8."""
        transformer = get_transformer(self.model)
        runtime = self.cfg["runtime"]
        if runtime != "torch" and transformer.device.type == "cpu":
            with self._onnx_lock:
                if runtime not in self._onnx:
                    self._onnx[runtime] = OnnxReader.from_transformer(transformer, list(batch), runtime == "int8")
                session = self._onnx[runtime]
            return session(batch)
        return predict_logits(transformer, batch, self.model.shims[0]._mixed_precision)

    def _weights_changed(self) -> None:
        """New weights (loaded or trained): the ONNX Runtime copies are rebuilt on next use."""
        self._onnx = {}

    # --- the pipe API ----------------------------------------------------

    def predict(self, docs: Iterable[Doc]) -> List[List[Optional[SpanCandidate]]]:
        """Each Doc's questions' best spans, whatever their score (None: no span to give)."""
        docs = list(docs)
        per_doc = [_questions(doc) for doc in docs]
        found = iter(
            self._best_spans(
                [check_question(q["question"]) for qs in per_doc for q in qs],
                [doc for doc, qs in zip(docs, per_doc) for _ in qs],
            )
        )
        return [[next(found) for _ in qs] for qs in per_doc]

    def set_annotations(self, docs: Iterable[Doc], predictions) -> None:
        for doc, found in zip(docs, predictions):
            questions = _questions(doc)
            answers = [
                self._make_answer(doc, q["question"], b, q.get("id"))
                for q, b in zip(questions, found)
            ]
            doc._.set(ANSWERS_ATTR, answers)
            doc.spans[self.cfg["spans_key"]] = [a.span for a in answers if a.span is not None]

    def from_bytes(self, bytes_data, *, exclude=tuple()):
        self._weights_changed()
        super().from_bytes(bytes_data, exclude=exclude)
        self._upgrade_cfg()
        return self

    def from_disk(self, path, *, exclude=tuple()):
        self._weights_changed()
        super().from_disk(path, exclude=exclude)
        self._upgrade_cfg()
        return self

    def _upgrade_cfg(self) -> None:
        """A cfg saved by 0.2 holds `quantize` / `onnx` booleans: read them as the runtime."""
        quantize, onnx = self.cfg.pop("quantize", None), self.cfg.pop("onnx", None)
        if quantize or onnx:
            self.cfg["runtime"] = runtime_from_flags(self.cfg["runtime"], quantize=quantize, onnx=onnx)

    # --- training --------------------------------------------------------

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Optimizer] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        """Learn start/end positions; unanswerable questions and windows that
        do not hold the answer learn the null position."""
        if losses is None:
            losses = {}
        losses.setdefault(self.name, 0.0)
        examples = list(examples)
        validate_examples(examples, "SpanQA.update")
        windows = self._gold_windows(examples)
        if not len(windows):
            return losses
        self._weights_changed()
        set_dropout_rate(self.model, drop)
        pad_id = get_tokenizer(self.model).pad_token_id or 0
        batch = pad_batch(windows, range(len(windows)), pad_id)
        logits, backprop = self.model.begin_update(batch)
        loss, d_logits = self.get_loss(batch["attention_mask"], windows.labels, logits)
        backprop(d_logits)
        if sgd is not None:
            self.finish_update(sgd)
        losses[self.name] += loss
        return losses

    def _gold_windows(self, examples: List[Example]) -> QAWindows:
        questions, contexts, answers = [], [], []
        for eg in examples:
            text = eg.reference.text
            for q in _questions(eg.reference):
                gold = q.get("answers") or []
                questions.append(check_question(q["question"]))
                contexts.append(text)
                if gold:
                    start = int(gold[0]["answer_start"])
                    answers.append((start, start + len(gold[0]["text"])))
                else:
                    answers.append(None)
        return self._encode(questions, contexts, answers)

    def get_loss(self, mask, labels, logits) -> Tuple[float, tuple]:
        """Mean cross-entropy of the start and end positions, and its gradient."""
        ops = self.model.ops
        xp = ops.xp
        mask = xp.asarray(mask, dtype="float32")
        labels = numpy.asarray(labels, dtype="int64")
        rows = numpy.arange(len(labels))
        n = len(labels)
        total = 0.0
        grads = []
        for k, scores in enumerate(logits):
            scores = scores + (mask - 1.0) * 1e4  # padding never wins
            probs = ops.softmax(scores, axis=-1)
            gold = probs[rows, labels[:, k]]
            total += float(-xp.log(xp.maximum(gold, 1e-12)).sum()) / (2 * n)
            d = probs.copy()
            d[rows, labels[:, k]] -= 1.0
            grads.append(d * mask / (2 * n))
        return total, tuple(grads)

    def initialize(self, get_examples: Callable[[], Iterable[Example]], *, nlp=None) -> None:
        """Load the transformer (from `model.name`) and check the examples."""
        validate_examples(get_examples(), "SpanQA.initialize")
        self.model.initialize()

    def score(self, examples: Iterable[Example], **kwargs) -> Dict[str, Optional[float]]:
        """SQuAD EM/F1 of the answers to the reference Docs' questions.

        spaCy's own corpus reader (`spacy evaluate`, `spacy benchmark accuracy`)
        makes predicted Docs without the questions, so the pipe ran on none of
        them. Wherever the predicted answers are not answers to the reference's
        questions, those questions are answered here first.
        """
        examples = list(examples)
        todo = [eg for eg in examples if not _answers_match(eg)]
        for eg in todo:
            eg.predicted._.set(
                QUESTIONS_ATTR,
                [{"id": q.get("id"), "question": q["question"]} for q in _questions(eg.reference)],
            )
        if todo:
            docs = [eg.predicted for eg in todo]
            self.set_annotations(docs, self.predict(docs))
        return self.scorer(examples, **kwargs)

    def add_label(self, label: str) -> int:
        raise NotImplementedError("span_qa has no labels: answers are spans of the text.")


def _questions(doc: Doc) -> List[dict]:
    raw = doc._.get(QUESTIONS_ATTR) or []
    out = []
    for i, q in enumerate(raw):
        if isinstance(q, str):
            q = {"id": str(i), "question": q}
        elif not isinstance(q, dict) or "question" not in q:
            raise ValueError(
                f"doc._.{QUESTIONS_ATTR} must hold strings or dicts with a 'question' key, not {q!r}."
            )
        out.append(q)
    return out


def _answers_match(eg: Example) -> bool:
    """Whether the predicted Doc holds one answer per reference question, in order."""
    asked = [q["question"].strip() for q in _questions(eg.reference)]
    answers = eg.predicted._.get(ANSWERS_ATTR)
    if answers is None:
        return not asked
    return [a.question.strip() for a in answers] == asked

