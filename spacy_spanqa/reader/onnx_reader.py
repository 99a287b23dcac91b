"""CPU inference with ONNX Runtime, in float32 or int8.

The reader's transformer is exported to ONNX once (TorchScript exporter) and
ONNX Runtime's transformer optimizer fuses attention, GELU and layer norms.
For int8, every MatMul is then quantized with one scale per output channel
(dynamic quantization: activations are quantized per batch at run time, so
an answer can depend slightly on which windows share its batch). Per-channel
weights keep ~88% of the shipped reader's answers identical to float32,
where PyTorch's per-tensor dynamic quantization kept ~62%.
"""
import logging
import tempfile
import warnings
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Sequence, Tuple

import numpy
import torch


class _QALogits(torch.nn.Module):
    """Positional inputs in, (start_logits, end_logits) out: what the exporter traces."""

    def __init__(self, model: torch.nn.Module, input_names: Sequence[str]):
        super().__init__()
        self.model = model
        self.input_names = list(input_names)

    def forward(self, *inputs):
        out = self.model(**dict(zip(self.input_names, inputs)))
        return out.start_logits, out.end_logits


class OnnxReader:
    """Start/end logits from an ONNX Runtime session of a QA transformer."""

    def __init__(self, model_bytes: bytes, input_names: Sequence[str], threads: int):
        import onnx
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = onnxruntime.InferenceSession(
            model_bytes, options, providers=["CPUExecutionProvider"]
        )
        self.input_names = list(input_names)
        self.op_types = Counter(node.op_type for node in onnx.load_from_string(model_bytes).graph.node)

    @classmethod
    def from_transformer(
        cls, transformer: torch.nn.Module, input_names: Sequence[str], quantize: bool = False
    ) -> "OnnxReader":
        """Export, optimize and (if `quantize`) quantize `transformer`: seconds, once."""
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from onnxruntime.transformers.optimizer import optimize_model

        model = _QALogits(transformer, input_names).eval()
        dummy = tuple(torch.ones((2, 16), dtype=torch.long) for _ in input_names)
        axes = {name: {0: "batch", 1: "length"} for name in [*input_names, "start_logits", "end_logits"]}
        with tempfile.TemporaryDirectory() as tmp, _quiet():
            exported, fused, quantized = (str(Path(tmp) / f) for f in ("model.onnx", "fused.onnx", "int8.onnx"))
            try:
                with torch.no_grad():
                    torch.onnx.export(
                        model, dummy, exported, input_names=list(input_names),
                        output_names=["start_logits", "end_logits"], dynamic_axes=axes,
                        opset_version=17, dynamo=False,
                    )
            except Exception as err:  # noqa: BLE001  (the exporter raises many kinds)
                raise ValueError(
                    f"Could not export {type(transformer).__name__} to ONNX ({str(err).splitlines()[0]}); "
                    'set runtime = "torch" to run it with PyTorch.'
                ) from None
            try:  # fusions are an optimisation: a graph they don't recognise runs as is
                optimize_model(exported, model_type="bert", num_heads=0, hidden_size=0).save_model_to_file(fused)
            except Exception:  # noqa: BLE001
                fused = exported
            final = fused
            if quantize:
                quantize_dynamic(  # embeddings stay float32: a lookup gains nothing from int8
                    fused, quantized, weight_type=QuantType.QInt8, per_channel=True,
                    op_types_to_quantize=["MatMul", "Attention"],
                    extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
                )
                final = quantized
            model_bytes = Path(final).read_bytes()
        return cls(model_bytes, input_names, threads=torch.get_num_threads())

    def __call__(self, batch: Dict[str, numpy.ndarray]) -> Tuple[numpy.ndarray, numpy.ndarray]:
        feed = {name: batch[name] for name in self.input_names}
        start, end = self.session.run(["start_logits", "end_logits"], feed)
        return start, end


@contextmanager
def _quiet():
    """Silence the exporter's and quantizer's warnings and log lines while building."""
    level = logging.root.level
    logging.root.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.root.setLevel(level)
