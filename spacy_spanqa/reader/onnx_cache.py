"""The ONNX copy of a saved span_qa pipeline: exported once with torch, in a
process of its own, and kept in a cache folder named by the content hash of
the reader's weights, so later processes answer without importing torch.

    python -m spacy_spanqa.reader.onnx_cache PIPELINE_DIR RUNTIME FOLDER   # what `onnx_copy` runs
"""
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

FORMAT = 1  # bump when the export changes: older copies are then left unused
ARCHITECTURE = "spacy_spanqa.HFQuestionAnswering.v1"


@dataclass(frozen=True)
class SavedReader:
    """The span_qa component of a pipeline saved on disk: its folder, component name and language."""

    path: Path
    component: str
    lang: str

    @property
    def weights(self) -> Path:
        return self.path / self.component / "model"

    def settings(self) -> dict:
        """The component's saved settings (`SpanQA.cfg`): windows, decoding, calibration, runtime."""
        return json.loads((self.path / self.component / "cfg").read_text(encoding="utf8"))


def find_saved_reader(model: Union[str, Path]) -> Optional[SavedReader]:
    """The saved span_qa reader `model` names (a pipeline folder or an installed
    pipeline package), or None for anything else (a Hugging Face checkpoint or name).
    Reads two small files; imports neither spaCy nor torch."""
    path = _pipeline_path(str(model))
    if path is None:
        return None
    from confection import Config  # spaCy's config format, without spaCy

    config = Config().from_disk(path / "config.cfg", interpolate=False)
    for name, component in config.get("components", {}).items():
        architecture = component.get("model", {}).get("@architectures")
        if component.get("factory") == "span_qa" and architecture == ARCHITECTURE and (path / name / "cfg").exists():
            return SavedReader(path, name, config["nlp"]["lang"])
    return None


def _pipeline_path(name: str) -> Optional[Path]:
    if (Path(name) / "config.cfg").exists():
        return Path(name)
    if not name.isidentifier():
        return None
    spec = importlib.util.find_spec(name)  # an installed pipeline package holds its pipeline in a subfolder
    if spec is None or spec.origin is None:
        return None
    found = sorted(p.parent for p in Path(spec.origin).parent.glob("*/config.cfg"))
    return found[0] if found else None


def onnx_copy(saved: SavedReader, runtime: str, cache_dir: Path) -> Path:
    """The cache folder holding `saved`'s ONNX copy for `runtime` ("onnx" or "int8"),
    its tokenizer and `reader.json`; exported now (once, seconds) when missing."""
    digest = hashlib.sha256(saved.weights.read_bytes()).hexdigest()[:32]  # tens of MB: a tenth of a second
    folder = Path(cache_dir) / "readers" / f"{digest}-v{FORMAT}"
    if not (folder / f"{runtime}.onnx").exists():
        print(f"Exporting the reader to ONNX Runtime ({runtime}) once; cached in {folder}.", file=sys.stderr)
        done = subprocess.run(
            [sys.executable, "-m", __name__, str(saved.path), runtime, str(folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
            if last.startswith("Error: "):  # the exporter's own one sentence
                raise ValueError(last.removeprefix("Error: "))
            raise ValueError(f"Could not export the reader to ONNX ({last}); run it with --runtime torch.")
    return folder


def export(pipeline: Path, runtime: str, folder: Path) -> None:
    """Export the pipeline's reader (torch, transformers) to `folder`; the .onnx file is written last."""
    from .loading import get_span_qa, load_reader
    from .model import get_tokenizer, get_transformer
    from .onnx_reader import export_onnx
    from .windows import pad_batch

    reader = get_span_qa(load_reader(pipeline))
    batch = pad_batch(reader._encode(["Warm-up?"], ["Warm-up."]), [0], reader._pad_id())  # the inputs it takes
    model = export_onnx(get_transformer(reader.model), list(batch), runtime == "int8")
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / "tokenizer.json", get_tokenizer(reader.model).backend_tokenizer.to_str().encode("utf8"))
    _write(folder / "reader.json", json.dumps({"inputs": list(batch), "pad_id": reader._pad_id()}).encode("utf8"))
    _write(folder / f"{runtime}.onnx", model)


def _write(path: Path, data: bytes) -> None:
    """Write via a temporary file and a rename, so a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


if __name__ == "__main__":
    pipeline_dir, runtime_name, out = sys.argv[1:4]
    try:
        export(Path(pipeline_dir), runtime_name, Path(out))
    except (ValueError, OSError) as err:
        print(f"Error: {err}", file=sys.stderr)
        raise SystemExit(1)
