"""Load a reader: a saved span_qa pipeline, an installed pipeline package, a
Hugging Face QA checkpoint, or the reader shipped with spacy-spanqa.

Importing this module loads neither spaCy nor torch: `spanqa ask` decides
first whether its reader can run without torch (`reader.fast_reader`).
"""
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Union

from .runtime import check_runtime

if TYPE_CHECKING:
    from spacy.language import Language

    from .component import SpanQA
    from .reading import SpanReading

DEFAULT_MODEL_DIR = Path(__file__).parent.parent / "default_model"


def default_model_dir() -> Path:
    """The reader shipped with spacy-spanqa; a missing one is said in one sentence."""
    if not (DEFAULT_MODEL_DIR / "config.cfg").exists():
        raise ValueError(
            f"The default reader is missing from {DEFAULT_MODEL_DIR}; reinstall spacy-spanqa "
            "or pass --model with a pipeline directory or Hugging Face QA checkpoint."
        )
    return DEFAULT_MODEL_DIR


def load_reader(model: Union[str, Path, "SpanReading", None] = None, runtime: Optional[str] = None) -> "Language":
    """A pipeline with a span_qa component from a saved pipeline directory, an
    installed pipeline package, or a Hugging Face QA checkpoint (name or dir).
    None loads the reader that ships with spacy-spanqa; a reader already loaded
    (a span_qa component or a `FastReader`) is returned as is.

    runtime: see `SpanQA.use_runtime`; None keeps the pipeline's own setting.
    """
    import spacy

    from .reading import SpanReading

    if runtime is not None:
        check_runtime(runtime)  # before the slow model load
    if isinstance(model, SpanReading):
        return model
    name = str(default_model_dir() if model is None else model)
    if (Path(name) / "config.cfg").exists() or spacy.util.is_package(name):
        nlp = spacy.load(name)
    else:
        nlp = spacy.blank("en")
        nlp.add_pipe("span_qa", config={"model": {"name": name}})
        nlp.initialize()
    reader = get_span_qa(nlp)
    if runtime is not None:
        reader.use_runtime(runtime)
        if runtime != "torch":  # build the ONNX Runtime copy now rather than on the first question
            reader.answer_pairs([("Warm-up.", "Warm-up?")])
    return nlp


def get_span_qa(nlp: Union["Language", "SpanReading"]) -> Union["SpanQA", "SpanReading"]:
    """The pipeline's span_qa component (a reader is returned as is)."""
    from .reading import SpanReading

    if isinstance(nlp, SpanReading):
        return nlp
    from .component import SpanQA

    for _, pipe in nlp.pipeline:
        if isinstance(pipe, SpanQA):
            return pipe
    raise ValueError(f"The pipeline {nlp.meta.get('name')!r} has no span_qa component; add one with nlp.add_pipe('span_qa').")
