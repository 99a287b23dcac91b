"""A saved span_qa reader run by ONNX Runtime without torch, transformers or a
spaCy `Language`: what `spanqa ask` answers with on CPU.

It reads the pipeline's own settings (windows, decoding, calibration) and the
cached ONNX copy of its model and tokenizer (`onnx_cache`), and answers
through the span_qa pipe's own code (`SpanReading`), so its answers are the
pipe's with runtime "onnx" (or "int8"). Passages' answer boundaries come
from a cache too (`boundary_cache`): spaCy is imported only for new text.
"""
import json
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import List, Optional, Tuple, Union

import numpy
from tokenizers import Tokenizer

from .boundaries import AnswerBoundaries
from .boundary_cache import BoundaryCache
from .onnx_cache import SavedReader, onnx_copy
from .onnx_reader import OnnxReader
from .reading import Context, SpanReading, is_doc
from .runtime import check_runtime, runtime_from_flags


class FastReader(SpanReading):
    """Answers (context, question) pairs like `SpanQA.answer_pairs`, from an ONNX Runtime session."""

    def __init__(
        self, session: Union[OnnxReader, "Future[OnnxReader]"], tokenizer: Tokenizer, pad_id: int, cfg: dict,
        lang: str = "en", boundary_cache: Optional[BoundaryCache] = None,
    ):
        self._session = session
        self.boundary_cache = boundary_cache
        self.tokenizer = tokenizer
        self.pad_id = pad_id
        self.cfg = cfg
        self._lang = lang

    @classmethod
    def load(cls, saved: SavedReader, cache_dir: Path, runtime: Optional[str] = None) -> "FastReader":
        """The reader of `saved` in `runtime` ("onnx" or "int8"; None: the pipeline's
        own, with "torch" read as "onnx", its float32 equal); exports it on first use."""
        cfg = saved.settings()
        cfg["runtime"] = runtime_from_flags(cfg["runtime"], quantize=cfg.pop("quantize", None), onnx=cfg.pop("onnx", None))
        runtime = runtime or cfg["runtime"]
        check_runtime(runtime)
        if runtime == "torch":
            runtime = "onnx"
        folder = onnx_copy(saved, runtime, cache_dir)
        info = json.loads((folder / "reader.json").read_text(encoding="utf8"))
        # ONNX Runtime reads and optimizes the model without holding the GIL: let it
        # do so while the caller goes on (imports, retrieval); the first question waits for it.
        pool = ThreadPoolExecutor(1, "onnx-session")
        session = pool.submit(OnnxReader, folder / f"{runtime}.onnx", info["inputs"])
        pool.shutdown(wait=False)  # its thread ends once the session is made
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        return cls(session, tokenizer, info["pad_id"], {**cfg, "runtime": runtime}, saved.lang,
                   BoundaryCache(Path(cache_dir) / "boundaries.sqlite"))

    @property
    def session(self) -> OnnxReader:
        if isinstance(self._session, Future):
            self._session = self._session.result()
        return self._session

    @property
    def lang(self) -> str:
        return self._lang

    def _tokenizer(self) -> Tokenizer:
        return self.tokenizer

    def _pad_id(self) -> int:
        return self.pad_id

    def _logits(self, batch: dict) -> Tuple[numpy.ndarray, numpy.ndarray]:
        return self.session(batch)

    def _boundaries(self, contexts: List[Context]) -> List[AnswerBoundaries]:
        """Texts' boundaries from the boundary cache (spaCy is imported only for new texts)."""
        if self.boundary_cache is None or any(is_doc(c) for c in contexts):
            return super()._boundaries(contexts)
        return self.boundary_cache.boundaries(contexts, self.lang)
