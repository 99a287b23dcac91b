"""BM25 backends side by side: bm25s vs rank-bm25 on the same passages and queries, in one run.

    python benchmarks/retrieval.py                                   # 100k passages, 200 queries
    python benchmarks/retrieval.py --n-passages 1000000 --only bm25s # shows a 1M index builds

Passages are the SQuADShifts contexts (read from ../shared/data at run time,
never copied), repeated with light perturbation (about 15% of each copy's
words replaced by words of other contexts) until there are --n-passages of
them. Queries are SQuADShifts questions; "hit@10" counts queries whose own
context (any copy) is in the top 10 (with ~18 near-copies per context at
100k, the top 10 is mostly copies of one context, so this is close to a
context-level hit@1). Each backend runs in its own forked
process, so peak RSS is per backend; "added" subtracts the RSS at fork.
"""
import argparse
import multiprocessing
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from queue import Empty
from typing import Dict, List, Tuple

from spacy_spanqa.results import Passage
from spacy_spanqa.retrieval.bm25 import BACKENDS, BM25Index
from spacy_spanqa.squad import read_squad

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "squadshifts"


def load_squadshifts(folder: Path) -> Tuple[List[Tuple[str, str]], List[Tuple[str, int]]]:
    """(title, context) pairs and (question, context index) pairs from every SQuAD file in `folder`."""
    files = sorted(folder.glob("*.json"))
    if not files:
        raise SystemExit(f"No SQuAD JSON files in {folder}; pass --data with the squadshifts folder.")
    contexts, questions = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # re-anchored answers do not matter for retrieval
        for file in files:
            for paragraph in read_squad(file):
                questions += [(q.question, len(contexts)) for q in paragraph.questions]
                contexts.append((paragraph.title, paragraph.context))
    return contexts, questions


def make_passages(contexts: List[Tuple[str, str]], n: int, seed: int) -> List[Passage]:
    """`n` passages: every context once, then copies with ~15% of words swapped for others."""
    rng = random.Random(seed)
    pool = [w for _, text in contexts for w in text.split()]
    passages = []
    for i in range(n):
        c, copy = i % len(contexts), i // len(contexts)
        title, text = contexts[c]
        if copy:
            words = text.split()
            for j in rng.sample(range(len(words)), k=max(1, len(words) * 15 // 100)):
                words[j] = rng.choice(pool)
            text = " ".join(words)
        passages.append(Passage(f"{c}-{copy}", text, title, f"squadshifts/{c}", None, 0, len(text), {}))
    return passages


def current_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_backend(backend: str, passages: List[Passage], queries: List[str], top_k: int,
                workdir: Path, progress: bool, out: "multiprocessing.Queue") -> None:
    """Build, load and query one backend; report timings, memory and the top-k ids (in a child process)."""
    rss_at_start = current_rss_mb()
    scorer_cls = BACKENDS[backend]
    index_step = {}
    build_scorer = scorer_cls.build.__func__

    def timed_build(cls, *args, **kwargs):
        start = time.perf_counter()
        scorer = build_scorer(cls, *args, **kwargs)
        index_step["s"] = time.perf_counter() - start
        return scorer

    scorer_cls.build = classmethod(timed_build)  # time the backend's own indexing step too
    path = workdir / backend
    start = time.perf_counter()
    BM25Index.build(passages, path, backend=backend, progress=progress)
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    index = BM25Index.load(path)
    load_s = time.perf_counter() - start
    index.search(queries[0], top_k)  # warm-up: first-touch of mmapped pages
    latencies, top = [], []
    for query in queries:
        start = time.perf_counter()
        hits = index.search(query, top_k)
        latencies.append(time.perf_counter() - start)
        top.append([p.id for p, _ in hits])
    start = time.perf_counter()
    batched = index.search_many(queries, top_k)
    batch_s = time.perf_counter() - start
    assert [[p.id for p, _ in hits] for hits in batched] == top
    disk = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    out.put({
        "backend": backend, "build_s": build_s, "index_s": index_step["s"], "load_s": load_s,
        "p50_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * statistics.quantiles(latencies, n=20)[-1] if len(latencies) > 1 else 1000 * latencies[0],
        "batch_s": batch_s, "peak_rss_mb": peak, "added_rss_mb": peak - rss_at_start,
        "disk_mb": disk / 2**20, "top": top,
    })


def hit_rate(top: List[List[str]], gold: List[int]) -> float:
    return sum(any(int(pid.split("-")[0]) == g for pid in ids) for ids, g in zip(top, gold)) / len(gold)


def overlap(a: List[List[str]], b: List[List[str]], k: int) -> float:
    return statistics.mean(len(set(x[:k]) & set(y[:k])) / k for x, y in zip(a, b))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="Folder of SQuAD JSON files (squadshifts).")
    parser.add_argument("--n-passages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--only", choices=list(BACKENDS), help="Run one backend (e.g. bm25s at 1M).")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, help="Where to write the indexes (default: a temp dir, removed).")
    parser.add_argument("--no-progress", action="store_true", help="No progress bars on stderr.")
    args = parser.parse_args()

    start = time.perf_counter()
    contexts, questions = load_squadshifts(args.data)
    passages = make_passages(contexts, args.n_passages, args.seed)
    n_contexts = min(len(contexts), len(passages))
    answerable = [(q, c) for q, c in questions if c < n_contexts]
    sample = random.Random(args.seed).sample(answerable, k=min(args.queries, len(answerable)))
    queries, gold = [q for q, _ in sample], [c for _, c in sample]
    prepare_s = time.perf_counter() - start
    backends = [args.only] if args.only else list(BACKENDS)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="spanqa-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)

    results: Dict[str, dict] = {}
    fork = multiprocessing.get_context("fork")
    try:
        for backend in backends:
            queue = fork.Queue()
            child = fork.Process(target=run_backend, args=(backend, passages, queries, args.top_k, workdir,
                                                           not args.no_progress, queue))
            child.start()
            while backend not in results:
                try:
                    results[backend] = queue.get(timeout=5)
                except Empty:
                    if not child.is_alive():
                        raise SystemExit(f"The {backend} run failed (exit code {child.exitcode}).")
            child.join()
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    k = args.top_k
    print(f"BM25 retrieval: {len(passages):,} passages ({n_contexts:,} SQuADShifts contexts + perturbed copies), "
          f"{len(queries)} queries, top-{k}; corpus prepared in {prepare_s:.1f}s")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; python {sys.version.split()[0]}")
    rows = [
        ("build: tokenize+index+save (s)", "build_s", "{:.1f}"),
        ("  of which backend indexing (s)", "index_s", "{:.2f}"),
        ("load (s)", "load_s", "{:.2f}"),
        ("query latency p50 (ms)", "p50_ms", "{:.1f}"),
        ("query latency p95 (ms)", "p95_ms", "{:.1f}"),
        (f"search_many, {len(queries)} queries (s)", "batch_s", "{:.2f}"),
        ("peak RSS (MB)", "peak_rss_mb", "{:.0f}"),
        ("  added by build+search (MB)", "added_rss_mb", "{:.0f}"),
        ("index on disk (MB)", "disk_mb", "{:.0f}"),
    ]
    both = len(results) == 2
    header = f"{'':34}" + "".join(f"{b:>12}" for b in results) + (f"{'rank-bm25/bm25s':>18}" if both else "")
    print(header)
    for label, key, fmt in rows:
        line = f"{label:34}" + "".join(f"{fmt.format(r[key]):>12}" for r in results.values())
        if both and results["bm25s"][key] > 0:
            line += f"{results['rank-bm25'][key] / results['bm25s'][key]:>17.1f}x"
        print(line)
    print(f"{f'hit@{k} (own context in top {k})':34}" + "".join(f"{hit_rate(r['top'], gold):>12.3f}" for r in results.values()))
    if both:
        a, b = results["bm25s"]["top"], results["rank-bm25"]["top"]
        print(f"agreement bm25s vs rank-bm25: overlap@{k} {overlap(a, b, k):.3f}, top-1 {overlap(a, b, 1):.3f}")


if __name__ == "__main__":
    main()
