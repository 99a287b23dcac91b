"""Start-up time of the `spanqa` command: a cold `spanqa ask` (a fresh process
until the first answer, on the example knowledge base with its index built)
and `spanqa --help`, before and after the torch-free ONNX reader.

"After" is timed twice: with the retrieved passages read before (their
answer boundaries cached, so spaCy is not imported) and as if never read
(the boundary cache removed before each run: spaCy's tokenizer runs).

"Before" is, by default, this tree with `--runtime torch` (the old path:
spaCy, torch, transformers and spacy-transformers loaded, the reader run in
PyTorch); with `--before-ref REF` it is a git worktree of REF made in a
temporary folder (and removed after). Runs alternate before/after so both
see the same machine load; prints medians, the ratio, the CPU model and
checks that both give the same answer.

    python benchmarks/cli_startup.py                       # before: --runtime torch
    python benchmarks/cli_startup.py --before-ref 9d7f0f8 --repeats 7
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, List, Optional

from machine import cpu_model  # benchmarks/machine.py, beside this script

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "How many vacation days do new hires get?"


@contextmanager
def worktree(ref: str) -> Iterator[Path]:
    """A checkout of `ref` in a temporary folder, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="spanqa-before-") as tmp:
        path = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), ref],
                       check=True, capture_output=True)
        try:
            yield path
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], capture_output=True)


class Side:
    """One way of running `spanqa`: a source tree, extra `ask` arguments, its own cache folder."""

    def __init__(self, name: str, tree: Path, ask_args: List[str], cache: Path):
        self.name, self.tree, self.ask_args, self.cache = name, tree, ask_args, cache

    def run(self, args: List[str]) -> subprocess.CompletedProcess:
        env = {**os.environ, "XDG_CACHE_HOME": str(self.cache), "PYTHONPATH": str(self.tree)}
        for var in ("SPANQA_RUNTIME", "SPANQA_MODEL", "SPANQA_INDEX"):
            env.pop(var, None)
        # cwd and PYTHONPATH put this tree's spacy_spanqa first, ahead of the installed one
        return subprocess.run([sys.executable, "-m", "spacy_spanqa.cli", *args], cwd=self.tree, env=env,
                              capture_output=True, text=True, timeout=900)

    def timed(self, args: List[str]) -> float:
        start = time.perf_counter()
        done = self.run(args)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{self.name}: spanqa {' '.join(args)} failed:\n{done.stderr[-2000:]}")
        return seconds

    def answer(self, question: str) -> Dict:
        done = self.run(["ask", question, "--json", *self.ask_args])
        if done.returncode != 0:
            raise SystemExit(f"{self.name}: spanqa ask failed:\n{done.stderr[-2000:]}")
        return json.loads(done.stdout.splitlines()[-1])


def measure(before: Side, after: Side, question: str, repeats: int) -> None:
    print(f"CPU: {cpu_model()}, {os.cpu_count()} CPUs; load average at start: {os.getloadavg()[0]:.1f}")
    first = {}
    for side in (before, after):  # builds the example index and (after) the cached ONNX copy: once per install
        first[side.name] = side.timed(["ask", question, *side.ask_args])
    answers = {side.name: side.answer(question) for side in (before, after)}
    times: Dict[str, Dict[str, List[float]]] = {s.name: {"ask": [], "new": [], "help": []} for s in (before, after)}
    boundary_cache = after.cache / "spacy-spanqa" / "boundaries.sqlite"
    for _ in range(repeats):
        for side in (before, after):
            times[side.name]["ask"].append(side.timed(["ask", question, *side.ask_args]))
            times[side.name]["help"].append(side.timed(["--help"]))
        boundary_cache.unlink(missing_ok=True)
        times[after.name]["new"].append(after.timed(["ask", question, *after.ask_args]))
    times[before.name]["new"] = times[before.name]["ask"]  # the old path caches no boundaries
    print(f"\n`spanqa ask \"{question}\"`, cold process, median of {repeats}:")
    labels = {"ask": "first answer", "new": "  passages never read", "help": "--help"}
    for what in ("ask", "new", "help"):
        b, a = (statistics.median(times[s.name][what]) for s in (before, after))
        print(f"  {labels[what]:<22} before {b:6.2f} s   after {a:6.2f} s   before/after {b / a:5.2f}x"
              f"   (after runs: {', '.join(f'{t:.2f}' for t in times[after.name][what])})")
    print(f"  first run in a fresh cache (index build; after: + ONNX export): "
          f"before {first[before.name]:.1f} s, after {first[after.name]:.1f} s")
    b, a = answers[before.name], answers[after.name]
    same = (b["answer"] == a["answer"] and (b["passage"] or {}).get("answer_start") == (a["passage"] or {}).get("answer_start")
            and abs((b["score"] or 0) - (a["score"] or 0)) <= 1e-3)
    print(f"  answer before: {b['answer']!r} ({b['score']}), after: {a['answer']!r} ({a['score']}): "
          f"{'same' if same else 'DIFFERENT'}")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before-ref", help="Measure 'before' on a git worktree of this ref (default: --runtime torch here).")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--question", default=QUESTION)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="spanqa-startup-") as tmp:
        after = Side("after", ROOT, [], Path(tmp) / "after-cache")
        if args.before_ref is None:
            before = Side("before (--runtime torch)", ROOT, ["--runtime", "torch"], Path(tmp) / "before-cache")
            measure(before, after, args.question, args.repeats)
            return
        with worktree(args.before_ref) as tree:
            before = Side(f"before ({args.before_ref})", tree, [], Path(tmp) / "before-cache")
            measure(before, after, args.question, args.repeats)


if __name__ == "__main__":
    main()
