"""The folder index: BM25 over a knowledge base, built incrementally and atomically, loaded, searched.

    index = BM25Index.build("docs/", "docs.idx")   # re-runs re-read only changed files
    index = BM25Index.build("docs/", "rb.idx", IndexSettings(backend="rank-bm25"))  # or backend="rank-bm25"
    index = BM25Index.build("docs/", "hy.idx", mode="hybrid")  # + sentence-encoder vectors, fused with BM25
    index = BM25Index.load("docs.idx")              # no re-tokenising; arrays memory-mapped
    index.search("How many vacation days do new hires get?", top_k=5)
    index.sync("docs/")                             # the same incremental build, in place

The embedded default `Retriever`: one folder on one machine, fine up to about
1M passages (see docs/scaling-out.md for when to move to Milvus).
"""
import json
import os
import shutil
import threading
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import bm25s
import numpy as np
from tqdm import tqdm

from ..results import Passage
from . import bm25_store as store
from . import dense, documents, hybrid
from .bm25_tokens import TokenLists, Vocabulary, tokenize_queries, tokenize_texts
from .bm25s_backend import BM25sScorer
from .encoder import SentenceEncoder, shared_encoder
from .passages import source_passages
from .protocol import SyncReport
from .rank_bm25_backend import RankBM25Scorer
from .settings import DEFAULT_TOP_K, FORMAT, FusionSettings, IndexSettings

BACKENDS = {BM25sScorer.name: BM25sScorer, RankBM25Scorer.name: RankBM25Scorer}
TOKENIZE_BATCH = 20_000


@dataclass
class _Part:
    """One source's passages: new ones, or rows [start, end) of the previous build to reuse."""

    rel: Optional[str]
    sha256: str = ""
    passages: List[Passage] = field(default_factory=list)
    reused: Optional[Tuple[int, int]] = None


@dataclass
class _Corpus:
    """Passages and their tokens, ready to write: `lines` are Passage JSON, `vocab` is by token id."""

    lines: List[str]
    flat: np.ndarray
    offsets: np.ndarray
    vocab: List[str]
    files: Dict[str, Dict[str, Any]]
    vectors: Optional[np.ndarray] = None  # one sentence-encoder row per passage ("dense" and "hybrid" only)


class BM25Index:
    """Passages of a knowledge base ranked by BM25, a sentence encoder or both (`settings.mode`), kept on disk;
    `search` returns the best first.

    Searching is safe from several threads (e.g. a Slack app's listeners).
    """

    def __init__(self, path: Path, settings: IndexSettings, scorer, passages: Sequence[Dict[str, Any]],
                 vocab: List[str], manifest: Dict[str, Any], report: Optional[SyncReport] = None,
                 vectors: Optional[np.ndarray] = None):
        self.path = path
        self.settings = settings
        self.scorer = scorer
        self.manifest = manifest
        self.report = report  # set by build(): which files were read, reused, removed
        self.vectors = None if vectors is None else dense.searchable(vectors)  # "dense" and "hybrid" only
        self.fusion = FusionSettings()  # how "hybrid" fuses; set it to tune without rebuilding
        self._passages = passages
        self._passages_lock = threading.Lock()  # the mmapped JSONL reader seeks a shared file position
        self._vocab = {token: i for i, token in enumerate(vocab)}

    @property
    def backend(self) -> str:
        return self.settings.backend

    def __len__(self) -> int:
        return len(self._passages)

    @property
    def mode(self) -> str:
        return self.settings.mode

    @property
    def encoder(self) -> SentenceEncoder:
        """The sentence encoder of a "dense" or "hybrid" index (loaded once per process)."""
        return shared_encoder(self.settings.encoder)

    def __repr__(self) -> str:
        return f"BM25Index({str(self.path)!r}, backend={self.backend!r}, mode={self.mode!r}, passages={len(self)})"

    @classmethod
    def build(
        cls,
        folder_or_passages: Union[str, os.PathLike, Iterable[Passage]],
        path: Union[str, os.PathLike],
        settings: Optional[IndexSettings] = None,
        *,
        progress: bool = True,
        **overrides: Any,
    ) -> "BM25Index":
        """Index a knowledge base folder (or Passages) into the folder `path` and return the index.

        settings: an `IndexSettings` (default: its defaults); `overrides` are any
        of its fields by name (backend="rank-bm25", k1=1.2, ...) applied on top.
        Re-running on a folder re-reads only added or changed files (sha256 of
        their bytes) and reuses the stored passages, tokens and vectors of the
        rest; other settings rebuild everything. The previous index stays loadable
        until the new one is complete. Progress bars go to stderr.
        """
        settings = _settings(settings, overrides)
        if settings.backend not in BACKENDS:
            raise ValueError(f"Unknown BM25 backend {settings.backend!r}; choose one of: {', '.join(BACKENDS)}.")
        path = Path(path)
        store.check_target(path)
        previous = _live_manifest(path, settings)
        if isinstance(folder_or_passages, (str, os.PathLike)):
            folder = Path(folder_or_passages)
            parts, report = _read_folder(folder, path, settings, previous, progress)
            if previous is not None and all(part.reused for part in parts) and not report.removed:
                try:
                    index = cls.load(path)  # nothing changed: keep the live build
                    index.report = report
                    return index
                except ValueError:  # the live build is damaged: rebuild it from the folder
                    previous = None
                    parts, report = _read_folder(folder, path, settings, previous, progress)
            source: Optional[str] = str(folder.resolve())
        else:
            parts = [_Part(None, passages=[p if isinstance(p, Passage) else Passage.from_dict(p) for p in folder_or_passages])]
            if not parts[0].passages:
                raise ValueError("No passages to index; give a knowledge base folder or a non-empty list of passages.")
            report, source, previous = None, None, None
        corpus = _assemble(parts, previous, settings, progress)
        return cls._write(path, settings, corpus, source, report, progress)

    @classmethod
    def _write(cls, path: Path, settings: IndexSettings, corpus: _Corpus, source: Optional[str],
               report: Optional[SyncReport], progress: bool) -> "BM25Index":
        """Write a complete build next to the live one, then switch CURRENT to it."""
        if not corpus.vocab:
            raise ValueError(f"The passages for {path} contain no searchable words (only stopwords or symbols).")
        manifest = {
            "format": FORMAT,
            "settings": asdict(settings),
            "source": source,
            "n_passages": len(corpus.lines),
            "n_tokens": int(len(corpus.flat)),
            "vocab_size": len(corpus.vocab),
            "files": corpus.files,
            "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "bm25s_version": bm25s.__version__,
        }
        build = store.new_build(path)
        try:
            store.write_passages(build, corpus.lines)
            store.write_tokens(build, corpus.flat, corpus.offsets, corpus.vocab)
            if corpus.vectors is not None:
                dense.write_vectors(build, corpus.vectors)
            scorer = BACKENDS[settings.backend].build(
                TokenLists(corpus.flat, corpus.offsets), corpus.vocab, settings.k1, settings.b, progress
            )
            scorer.save(build)
            store.write_manifest(build, manifest)
            store.publish(path, build)
        except BaseException:
            shutil.rmtree(build, ignore_errors=True)
            raise
        store.remove_old_builds(path, keep=build)
        passages = store.open_passages(build, mmap=True)
        vectors = dense.read_vectors(build) if corpus.vectors is not None else None
        return cls(path, settings, scorer, passages, corpus.vocab, manifest, report, vectors)

    @classmethod
    def load(cls, path: Union[str, os.PathLike], mmap: bool = True) -> "BM25Index":
        """Open a saved index without re-tokenising; with mmap, score arrays and passages stay on disk."""
        path = Path(path)
        build = store.live_build(path)
        if build is None:
            raise ValueError(f"No index at {path}; build it with `spanqa index FOLDER --index {path}`.")
        flag = ""  # the mode's CLI flag, for the rebuild command
        try:
            manifest = store.read_manifest(build)
            settings = store.read_settings(manifest)
            flag = "" if settings.mode == "bm25" else f" --{settings.mode}"
            if settings.format != FORMAT:
                raise ValueError(f"format {settings.format} is not {FORMAT}")
            scorer = BACKENDS[settings.backend].load(build, mmap)
            passages = store.open_passages(build, mmap)
            vocab = store.read_vocab(build)
            vectors = dense.read_vectors(build, mmap) if settings.mode != "bm25" else None
            if not len(scorer) == len(passages) == manifest["n_passages"] == len(vectors if vectors is not None else passages):
                raise ValueError("its passage counts disagree")
        except Exception as err:  # any damage to the stored files means the same thing to the user
            raise ValueError(
                f"The index at {path} is damaged or from another version ({type(err).__name__}: {err}); "
                f"rebuild it with `spanqa index FOLDER --index {path}{flag}`."
            ) from None
        return cls(path, settings, scorer, passages, vocab, manifest, vectors=vectors)

    def sync(self, folder: Union[str, os.PathLike], progress: bool = False) -> SyncReport:
        """Bring the index up to date with `folder` (an incremental build with this index's settings)."""
        built = self.build(folder, self.path, self.settings, progress=progress)
        with self._passages_lock:
            self.__dict__.update({k: v for k, v in vars(built).items() if k not in ("_passages_lock", "fusion")})
        return built.report

    def describe(self) -> Dict[str, Any]:
        """What this index is, for `--json` output and logs."""
        return {
            "backend": self.backend, "mode": self.mode, "index": str(self.path), "passages": len(self),
            "source": self.manifest.get("source"), "built_at": self.manifest.get("built_at"),
            "settings": asdict(self.settings),
        }

    def passage(self, i: int) -> Passage:
        """The i-th stored passage."""
        with self._passages_lock:
            data = self._passages[i]
        return Passage.from_dict(data)

    def search(self, query: str, top_k: int = DEFAULT_TOP_K) -> List[Tuple[Passage, float]]:
        """Up to `top_k` (passage, score) pairs, best first: the BM25 score ([] when no passage shares a word),
        the cosine ("dense") or the fused score ("hybrid", see FusionSettings)."""
        return self.search_many([query], top_k)[0]

    def search_many(self, queries: Sequence[str], top_k: int = DEFAULT_TOP_K) -> List[List[Tuple[Passage, float]]]:
        """`search` for a batch of queries at once (one tokeniser call, one encoder call, one backend call)."""
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1 (got {top_k}).")
        return [[(self.passage(int(r)), float(s)) for r, s in zip(rows, scores)]
                for rows, scores in self.rank(list(queries), top_k)]

    def rank(self, queries: List[str], top_k: int, mode: Optional[str] = None) -> List[Tuple[np.ndarray, np.ndarray]]:
        """(passage rows, scores) best first for each query, by `mode` (default: the index's own).

        A "dense" or "hybrid" index can also rank by the others (benchmarks compare them on one index).
        """
        mode = mode or self.mode
        if mode == "bm25":
            return self._bm25_rank(queries, top_k)
        if self.vectors is None:
            raise ValueError(f"The index at {self.path} has no passage vectors; rebuild it with "
                             f"`spanqa index FOLDER --index {self.path} --{mode}` to rank by {mode}.")
        vectors = self.encoder.encode_queries(queries)
        if mode == "dense":
            return dense.top_k(self.vectors, vectors, top_k)
        candidates = max(top_k, self.fusion.candidates)
        lexical = self._bm25_rank(queries, candidates)
        semantic = dense.top_k(self.vectors, vectors, candidates)
        return [hybrid.fuse(lex, sem, lambda rows, q=q: dense.scores_of(self.vectors, q, rows), top_k, self.fusion)
                for lex, sem, q in zip(lexical, semantic, vectors)]

    def _bm25_rank(self, queries: List[str], top_k: int) -> List[Tuple[np.ndarray, np.ndarray]]:
        """BM25's (rows, scores) for each query; empty when the query shares no word with the passages."""
        tokens = tokenize_queries(queries, self.settings.stemming, self.settings.stopwords)
        ids = [[self._vocab[t] for t in query if t in self._vocab] for query in tokens]
        asked = [i for i, query in enumerate(ids) if query]
        results = [(np.zeros(0, np.int64), np.zeros(0, np.float32)) for _ in ids]
        if asked:
            found = self.scorer.top_k([ids[i] for i in asked], min(top_k, len(self)))
            for i, (rows, scores) in zip(asked, found):
                positive = np.asarray(scores) > 0
                results[i] = (np.asarray(rows)[positive], np.asarray(scores, dtype=np.float32)[positive])
        return results


def _settings(settings: Optional[IndexSettings], overrides: Dict[str, Any]) -> IndexSettings:
    """`settings` (or the defaults) with `overrides` applied; one clear error for a wrong kind of settings."""
    if settings is None:
        return IndexSettings(**overrides)
    if not isinstance(settings, IndexSettings):
        raise TypeError(f"A folder index takes IndexSettings, not {type(settings).__name__}.")
    return replace(settings, **overrides) if overrides else settings


def _live_manifest(path: Path, settings: IndexSettings) -> Optional[Tuple[Path, Dict[str, Any]]]:
    """The live build and its manifest when it was made with `settings` (else nothing is reused)."""
    build = store.live_build(path)
    if build is None:
        return None
    try:
        manifest = store.read_manifest(build)
        # Keys a 0.2/0.3 manifest lacks take their defaults, so its indexes keep syncing incrementally.
        if store.read_settings(manifest) != settings or store.count_stored(build) != manifest["n_passages"]:
            return None
        if settings.mode != "bm25" and len(dense.read_vectors(build)) != manifest["n_passages"]:
            return None
    except (OSError, ValueError, KeyError, TypeError):  # a damaged live build is simply not reused
        return None
    return build, manifest


def _read_folder(folder: Path, index_path: Path, settings: IndexSettings,
                 previous: Optional[Tuple[Path, Dict[str, Any]]], progress: bool) -> Tuple[List[_Part], SyncReport]:
    """Hash every file; parse and split only those whose hash is not in the previous build."""
    known = previous[1]["files"] if previous else {}
    report = SyncReport(full_rebuild=previous is None)
    parts = []
    for source in documents.read_sources(folder, exclude=index_path, progress=progress):
        old = known.get(source.rel)
        if old and old["sha256"] == source.sha256:
            parts.append(_Part(source.rel, source.sha256, reused=(old["start"], old["end"])))
            report.reused.append(source.rel)
            continue
        report.read.append(source.rel)
        passages = source_passages(source, settings)
        if passages:
            parts.append(_Part(source.rel, source.sha256, passages=passages))
    report.removed = sorted(set(known) - {part.rel for part in parts})
    if not parts:
        raise ValueError(documents.no_documents_message(folder))
    return parts, report


def _assemble(parts: List[_Part], previous: Optional[Tuple[Path, Dict[str, Any]]],
              settings: IndexSettings, progress: bool) -> _Corpus:
    """Concatenate reused and new passages in file order, with tokens in one compact vocabulary
    (and, for "dense" and "hybrid", vectors: only new passages are encoded)."""
    vocab = Vocabulary()
    new_texts = [p.text for part in parts for p in part.passages]
    new_flat, new_lengths = _tokenize(new_texts, settings, vocab, progress)
    with_vectors = settings.mode != "bm25"
    if with_vectors:
        new_vectors = shared_encoder(settings.encoder).encode(new_texts, progress=progress) if new_texts else None
    if previous is not None and any(part.reused for part in parts):
        old_flat, old_offsets, old_vocab = store.read_tokens(previous[0])
        old_lines = store.read_passage_lines(previous[0])
        old_ids = vocab.remap(old_vocab)
        old_vectors = dense.read_vectors(previous[0]) if with_vectors else None
    lines: List[str] = []
    pieces, lengths, files, vector_pieces = [], [], {}, []
    n_new = n_new_tokens = 0
    for part in parts:
        start = len(lines)
        if part.reused:
            s, e = part.reused
            lines += old_lines[s:e]
            pieces.append(old_ids[old_flat[old_offsets[s] : old_offsets[e]]])
            lengths.append(np.diff(old_offsets[s : e + 1]))
            if with_vectors:
                vector_pieces.append(np.asarray(old_vectors[s:e], dtype=np.float32))
        else:
            part_lengths = new_lengths[n_new : n_new + len(part.passages)]
            n_tokens = int(part_lengths.sum())
            lines += [json.dumps(p.to_dict(), ensure_ascii=False, default=str) for p in part.passages]
            pieces.append(new_flat[n_new_tokens : n_new_tokens + n_tokens])
            lengths.append(part_lengths)
            if with_vectors:
                vector_pieces.append(new_vectors[n_new : n_new + len(part.passages)])
            n_new += len(part.passages)
            n_new_tokens += n_tokens
        if part.rel is not None:
            files[part.rel] = {"sha256": part.sha256, "start": start, "end": len(lines)}
    flat, vocab_list = vocab.compact(np.concatenate(pieces))
    offsets = np.concatenate([[0], np.cumsum(np.concatenate(lengths))]).astype(np.int64)
    vectors = np.concatenate(vector_pieces) if with_vectors else None
    return _Corpus(lines, flat, offsets, vocab_list, files, vectors)


def _tokenize(texts: List[str], settings: IndexSettings, vocab: Vocabulary, progress: bool) -> Tuple[np.ndarray, np.ndarray]:
    """Token ids (in `vocab`) and per-text lengths, tokenised in batches to bound memory."""
    flats, lengths = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    with tqdm(total=len(texts), desc="Tokenizing", unit="passage", disable=not progress, leave=False) as bar:
        for start in range(0, len(texts), TOKENIZE_BATCH):
            flat, batch_lengths, batch_vocab = tokenize_texts(texts[start : start + TOKENIZE_BATCH], settings.stemming, settings.stopwords)
            flats.append(vocab.remap(batch_vocab)[flat])
            lengths.append(batch_lengths)
            bar.update(len(batch_lengths))
    return np.concatenate(flats), np.concatenate(lengths)
