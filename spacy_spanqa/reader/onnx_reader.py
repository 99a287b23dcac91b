"""CPU inference with ONNX Runtime, in float32 or int8.

The reader's transformer is exported to ONNX once (TorchScript exporter) and
ONNX Runtime's transformer optimizer fuses attention, GELU and layer norms.
For int8, every MatMul is then quantized with one scale per output channel
(dynamic quantization: activations are quantized per batch at run time, so
an answer can depend slightly on which windows share its batch). Per-channel
weights keep ~88% of the shipped reader's answers identical to float32,
where PyTorch's per-tensor dynamic quantization kept ~62%.
"""
from collections import Counter
from functools import cached_property
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy


class OnnxReader:
    """Start/end logits from an ONNX Runtime session of a QA transformer.

    model: the ONNX model's bytes or file; input_names: what it takes (None:
    the model's own inputs); threads: intra-op threads (0: ONNX Runtime's default).
    """

    def __init__(self, model: Union[bytes, str, Path], input_names: Optional[Sequence[str]] = None, threads: int = 0):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.model = model if isinstance(model, bytes) else str(model)
        self.session = onnxruntime.InferenceSession(self.model, options, providers=["CPUExecutionProvider"])
        self.input_names = list(input_names or [i.name for i in self.session.get_inputs()])

    @cached_property
    def op_types(self) -> Counter:
        """How many nodes of each operator the graph holds (fusions and quantization show here)."""
        import onnx

        graph = onnx.load_from_string(self.model) if isinstance(self.model, bytes) else onnx.load(self.model)
        return Counter(node.op_type for node in graph.graph.node)

    @classmethod
    def from_transformer(cls, transformer, input_names: Sequence[str], quantize: bool = False) -> "OnnxReader":
        """Export, optimize and (if `quantize`) quantize `transformer`: seconds, once."""
        import torch

        return cls(export_onnx(transformer, input_names, quantize), input_names, threads=torch.get_num_threads())

    def __call__(self, batch: Dict[str, numpy.ndarray]) -> Tuple[numpy.ndarray, numpy.ndarray]:
        feed = {name: batch[name] for name in self.input_names}
        start, end = self.session.run(["start_logits", "end_logits"], feed)
        return start, end


def export_onnx(transformer, input_names: Sequence[str], quantize: bool = False) -> bytes:
    """A Hugging Face QA `transformer` (torch) as an optimized ONNX model, int8 if `quantize`."""
    import torch

    from ..onnx_export import to_onnx

    class QALogits(torch.nn.Module):
        """Positional inputs in, (start_logits, end_logits) out: what the exporter traces."""

        def __init__(self):
            super().__init__()
            self.model = transformer

        def forward(self, *inputs):
            out = self.model(**dict(zip(input_names, inputs)))
            return out.start_logits, out.end_logits

    try:
        return to_onnx(QALogits(), input_names, ["start_logits", "end_logits"], quantize)
    except Exception as err:  # noqa: BLE001  (the exporter raises many kinds)
        raise ValueError(
            f"Could not export {type(transformer).__name__} to ONNX ({str(err).splitlines()[0]}); "
            'set runtime = "torch" to run it with PyTorch.'
        ) from None
