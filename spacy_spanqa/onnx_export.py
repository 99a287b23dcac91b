"""A torch transformer as an optimized ONNX Runtime model: exported, fused, and
(optionally) int8. One recipe for the reader (`reader/onnx_reader.py`) and the
sentence encoder (`retrieval/encoder.py`).

int8 quantizes every MatMul with one scale per output channel (dynamic
quantization: activations are quantized per call); embeddings stay float32,
since a lookup gains nothing from int8.
"""
import logging
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Sequence


def to_onnx(module, input_names: Sequence[str], output_names: Sequence[str], quantize: bool = False) -> bytes:
    """`module` (a torch.nn.Module taking `input_names` positionally, batch x length int64 each)
    as ONNX bytes, fused by ONNX Runtime's transformer optimizer, int8 if `quantize`.

    The exporter's own exception propagates: callers say what to do instead."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    dummy = tuple(torch.ones((2, 16), dtype=torch.long) for _ in input_names)
    axes = {name: {0: "batch", 1: "length"} for name in [*input_names, *output_names]}
    with tempfile.TemporaryDirectory() as tmp, _quiet():
        exported, fused, quantized = (str(Path(tmp) / f) for f in ("model.onnx", "fused.onnx", "int8.onnx"))
        with torch.no_grad():
            torch.onnx.export(module.eval(), dummy, exported, input_names=list(input_names),
                              output_names=list(output_names), dynamic_axes=axes, opset_version=17, dynamo=False)
        try:  # fusions are an optimisation: a graph they do not recognise runs as exported
            from onnxruntime.transformers.optimizer import optimize_model

            optimize_model(exported, model_type="bert", num_heads=0, hidden_size=0).save_model_to_file(fused)
        except Exception:  # noqa: BLE001
            fused = exported
        final = fused
        if quantize:
            quantize_dynamic(fused, quantized, weight_type=QuantType.QInt8, per_channel=True,
                             op_types_to_quantize=["MatMul", "Attention"],
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
            final = quantized
        return Path(final).read_bytes()


@contextmanager
def _quiet():
    """Silence the exporter's and quantizer's warnings and log lines while exporting."""
    level = logging.root.level
    logging.root.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.root.setLevel(level)
