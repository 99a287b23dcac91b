"""On-disk layout of a BM25 index: complete builds in `build-*` folders, the live one named by CURRENT.

A build is written in full into a fresh folder next to the live one; only
then is CURRENT replaced (os.replace is atomic), so killing a build at any
moment leaves the previous index loadable.
"""
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
from bm25s.utils.corpus import JsonlCorpus, save_mmindex

from .settings import IndexSettings

CURRENT = "CURRENT"
BUILD_PREFIX = "build-"
MANIFEST = "manifest.json"
PASSAGES = "passages.jsonl"  # one Passage.to_dict() per line; passages.mmindex.json holds line offsets
TOKENS = "tokens.npy"  # every passage's token ids, concatenated
TOKEN_OFFSETS = "token_offsets.npy"  # passage i has tokens[offsets[i]:offsets[i + 1]]
VOCAB = "vocab.json"  # token strings by id


def live_build(path: Path) -> Optional[Path]:
    """The folder of the complete build CURRENT points at, or None."""
    try:
        name = (path / CURRENT).read_text(encoding="utf8").strip()
    except OSError:
        return None
    build = path / name
    if not name.startswith(BUILD_PREFIX) or "/" in name or "\\" in name or not build.is_dir():
        return None
    return build


def check_target(path: Path) -> None:
    """Refuse to write an index over a file or over a folder that holds anything else."""
    if path.exists() and not path.is_dir():
        raise ValueError(f"{path} is a file; give a folder path for the index.")
    if path.is_dir() and not (path / CURRENT).exists():
        if any(not p.name.startswith((BUILD_PREFIX, CURRENT)) for p in path.iterdir()):
            raise ValueError(f"{path} already exists and is not a spanqa index; give a new or empty folder for the index.")


def new_build(path: Path) -> Path:
    """A fresh, empty build folder inside the index folder."""
    path.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=BUILD_PREFIX, dir=path))


def publish(path: Path, build: Path) -> None:
    """Make `build` the live index in one atomic step."""
    for file in build.rglob("*"):
        if file.is_file():
            _fsync(file)
    fd, pointer = tempfile.mkstemp(prefix=f"{CURRENT}.tmp-", dir=path)
    with os.fdopen(fd, "w", encoding="utf8") as f:
        f.write(build.name)
        f.flush()
        os.fsync(f.fileno())
    os.replace(pointer, path / CURRENT)


def remove_old_builds(path: Path, keep: Path) -> None:
    """Delete superseded and unfinished builds (open mmaps of them stay valid on POSIX)."""
    for other in path.iterdir():
        if other.name.startswith(BUILD_PREFIX) and other != keep and other.is_dir():
            shutil.rmtree(other, ignore_errors=True)
        elif other.name.startswith(f"{CURRENT}.tmp-"):
            other.unlink(missing_ok=True)


def _fsync(file: Path) -> None:
    with open(file, "rb") as f:
        os.fsync(f.fileno())


def write_passages(build: Path, lines: Iterable[str]) -> int:
    """Write passage JSON lines and their byte offsets (for random access by bm25s's JsonlCorpus)."""
    offsets, position = [], 0
    with open(build / PASSAGES, "wb") as f:
        for line in lines:
            data = line.encode("utf8") + b"\n"
            offsets.append(position)
            f.write(data)
            position += len(data)
    save_mmindex(offsets, build / PASSAGES)
    return len(offsets)


def open_passages(build: Path, mmap: bool) -> Sequence[Dict[str, Any]]:
    """Passage dicts by position: read lazily through mmap, or all into memory."""
    if mmap:
        return JsonlCorpus(str(build / PASSAGES), show_progress=False, save_index=False, verbosity=0)
    with open(build / PASSAGES, encoding="utf8") as f:
        return [json.loads(line) for line in f]


def read_passage_lines(build: Path) -> List[str]:
    """The stored passage JSON lines, unparsed (reused as-is by incremental builds)."""
    return (build / PASSAGES).read_text(encoding="utf8").split("\n")[:-1]


def write_tokens(build: Path, flat: np.ndarray, offsets: np.ndarray, vocab: List[str]) -> None:
    np.save(build / TOKENS, flat.astype(np.int32))
    np.save(build / TOKEN_OFFSETS, offsets.astype(np.int64))
    (build / VOCAB).write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf8")


def read_tokens(build: Path) -> Tuple[np.ndarray, np.ndarray, List[str]]:
    """(flat token ids, per-passage offsets, vocabulary by id) of a build."""
    flat = np.load(build / TOKENS).astype(np.int64)
    offsets = np.load(build / TOKEN_OFFSETS)
    return flat, offsets, read_vocab(build)


def count_stored(build: Path) -> int:
    """Passages whose text and tokens a build holds; raises OSError/ValueError when files are missing."""
    n_tokens = len(np.load(build / TOKEN_OFFSETS, mmap_mode="r")) - 1
    n_lines = len(json.loads((build / PASSAGES).with_suffix(".mmindex.json").read_text(encoding="utf8")))
    if not (build / VOCAB).is_file() or not (build / TOKENS).is_file() or n_tokens != n_lines:
        raise ValueError(f"{build} is incomplete")
    return n_lines


def read_vocab(build: Path) -> List[str]:
    return json.loads((build / VOCAB).read_text(encoding="utf8"))


def write_manifest(build: Path, manifest: Dict[str, Any]) -> None:
    (build / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf8")


def read_manifest(build: Path) -> Dict[str, Any]:
    return json.loads((build / MANIFEST).read_text(encoding="utf8"))


def read_settings(manifest: Dict[str, Any]) -> IndexSettings:
    """The settings a build was made with; keys a 0.2/0.3 manifest lacks take their defaults."""
    return IndexSettings(**manifest["settings"])
