"""How the reader runs on CPU: the runtime names, checked without loading torch
(so a command line can refuse a wrong one at once)."""

RUNTIMES = ("torch", "onnx", "int8")  # see SpanQA.use_runtime


def check_runtime(runtime: str) -> None:
    if runtime not in RUNTIMES:
        raise ValueError(f"Unknown runtime {runtime!r}; use one of: {', '.join(RUNTIMES)}.")
