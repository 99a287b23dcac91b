"""How the reader runs on CPU: the runtime names, checked without loading torch
(so a command line can refuse a wrong one at once)."""
import warnings
from typing import Optional

RUNTIMES = ("torch", "onnx", "int8")  # see SpanQA.use_runtime


def check_runtime(runtime: str) -> None:
    if runtime not in RUNTIMES:
        raise ValueError(f"Unknown runtime {runtime!r}; use one of: {', '.join(RUNTIMES)}.")


def runtime_from_flags(runtime: str, *, quantize: Optional[bool] = None, onnx: Optional[bool] = None) -> str:
    """The runtime that 0.2's `quantize` / `onnx` booleans meant, with a
    DeprecationWarning when either is given; `runtime` when neither is true."""
    if quantize is not None or onnx is not None:
        warnings.warn(
            "span_qa's `quantize` and `onnx` settings are deprecated (removal in 0.5): "
            'set runtime = "int8", "onnx" or "torch" instead.',
            DeprecationWarning,
            stacklevel=2,
        )
    if quantize:
        return "int8"
    if onnx:
        return "onnx"
    return runtime
