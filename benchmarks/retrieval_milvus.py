"""Milvus against the embedded bm25s index, side by side in one run: recall, speed, and the cost of a sync.

    python benchmarks/retrieval_milvus.py                         # quality + 100k-passage sync
    python benchmarks/retrieval_milvus.py --n-passages 20000      # a smaller scale run
    python benchmarks/retrieval_milvus.py --end-to-end 200        # + reader F1 through each retriever
    python benchmarks/retrieval_milvus.py --skip-quality --n-passages 0   # the syncs section only
    python benchmarks/retrieval_milvus.py --dense --skip-syncs --n-passages 0   # + Milvus dense and hybrid

1. Quality: the knowledge base is every SQuADShifts new_wiki paragraph, the
   questions the held-out ones of `spanqa split` (10% of paragraphs, seed 13),
   as in benchmarks/end_to_end.py. Recall@k: a passage of the question's own
   paragraph is in the top k. Backends: bm25s (the default folder index) and
   Milvus Lite (a .db path) with each analyzer it has: `snowball` (the bm25s
   tokens, made by spanqa) and Milvus's `standard` (no stemming), and
   `snowball` with English stopwords dropped (`-stop`); with --dense also a
   dense field (all-MiniLM-L6-v2) searched alone and with Milvus's hybrid search.
2. Syncs (issue 18): the new_wiki paragraphs in files of 7; 70 held-out
   paragraphs come in by 10 syncs (5 add a file, 5 change one), plus a file
   with one rare fact. Recall@5 on every question of the synced paragraphs,
   synced vs a fresh build of the same final folder, for bm25s and Milvus Lite,
   and the rank of the rare fact's passage right after its sync.
3. Scale: a knowledge base of --n-passages passages (SQuADShifts contexts, then
   copies with ~15% of words swapped, as in benchmarks/retrieval.py) in files of
   100 JSONL records. Build, query latency, a sync with nothing changed, and a
   sync after one file changed (bm25s: an incremental rebuild; Milvus: the
   file's rows replaced).
"""
import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable, Dict, List, Sequence

sys.path.insert(0, str(Path(__file__).parent))
from retrieval import load_squadshifts, make_passages  # noqa: E402  (benchmarks/retrieval.py)

from spacy_spanqa.retrieval import sync_index  # noqa: E402
from spacy_spanqa.retrieval.documents import Document  # noqa: E402
from spacy_spanqa.retrieval.passages import split_passages  # noqa: E402
from spacy_spanqa.squad.format import read_squad  # noqa: E402
from spacy_spanqa.squad.metric import squad_evaluate  # noqa: E402
from spacy_spanqa.squad.splits import split_paragraphs  # noqa: E402

from machine import cpu_model  # noqa: E402  (benchmarks/machine.py, beside this script)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "squadshifts"
PER_FILE = 100


def latencies(search: Callable[[str], object], queries: Sequence[str]) -> Dict[str, float]:
    search(queries[0])  # warm-up
    times = []
    for q in queries:
        start = time.perf_counter()
        search(q)
        times.append(time.perf_counter() - start)
    times.sort()
    return {"p50_ms": 1000 * statistics.median(times), "p95_ms": 1000 * times[int(0.95 * (len(times) - 1))]}


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def quality(args, work: Path) -> None:
    data = args.data / "new_wiki_v1.0.json"
    paragraphs = read_squad(data)
    raw = json.loads(data.read_text(encoding="utf8"))
    flat = [f"{data.name}:{a}:{i}" for a, art in enumerate(raw["data"]) for i, _ in enumerate(art["paragraphs"])]
    doc_of = {id(p): name for name, p in zip(flat, paragraphs)}
    _, dev = split_paragraphs(paragraphs, 0.1, seed=13)
    items = [(q, p) for p in dev for q in p.questions]
    questions = [q.question for q, _ in items]
    kb = work / "new_wiki"
    kb.mkdir()
    shutil.copy(data, kb / data.name)

    backends = {
        "bm25s": (work / "new_wiki.idx", {}),
        "milvus-lite snowball": (work / "new_wiki.db", {"analyzer": "snowball"}),
        "milvus-lite standard": (work / "new_wiki_standard.db", {"analyzer": "standard"}),
        "milvus-lite snowball-stop": (work / "new_wiki_stop.db", {"analyzer": "snowball", "stopwords": True}),
    }
    if args.dense:  # a dense field beside the BM25 one; hybrid: Milvus's hybrid_search with its RRF ranker
        backends["milvus-lite dense"] = (work / "new_wiki_dense.db", {"mode": "dense"})
        backends["milvus-lite hybrid"] = (work / "new_wiki_hybrid.db", {"mode": "hybrid"})
    rows = {}
    retrievers = {}
    for name, (index, settings) in backends.items():
        retriever, build_s = timed(lambda: sync_index(kb, index, **settings))
        retrievers[name] = retriever
        found, batch_s = timed(lambda: retriever.search_many(questions, 20))
        docs = [[p.document_id for p, _ in hits] for hits in found]
        recall = {k: sum(doc_of[id(p)] in d[:k] for (_, p), d in zip(items, docs)) / len(items) for k in (1, 5, 20)}
        rows[name] = {"passages": len(retriever), "build_s": build_s, "passages_per_s": len(retriever) / build_s,
                      **{f"recall@{k}": v for k, v in recall.items()},
                      **latencies(lambda q: retriever.search(q, 5), questions[: args.queries]),
                      "batch_s": batch_s, "top": [[p.id for p, _ in hits[:5]] for hits in found]}
    print(f"\n1. Quality: new_wiki, {len(paragraphs):,} paragraphs, {len(items)} held-out questions")
    table(rows, [
        ("passages", "passages", "{:,}"), ("build (s)", "build_s", "{:.1f}"), ("build passages/s", "passages_per_s", "{:.0f}"),
        ("recall@1", "recall@1", "{:.3f}"), ("recall@5", "recall@5", "{:.3f}"), ("recall@20", "recall@20", "{:.3f}"),
        (f"query p50, top-5, {args.queries} q (ms)", "p50_ms", "{:.1f}"), ("query p95 (ms)", "p95_ms", "{:.1f}"),
        (f"search_many, {len(items)} q, top-20 (s)", "batch_s", "{:.2f}"),
    ])
    same = statistics.mean(a == b for a, b in zip(rows["bm25s"]["top"], rows["milvus-lite snowball"]["top"]))
    print(f"same top-5 passages, bm25s vs milvus-lite snowball: {same:.1%} of questions")
    if args.end_to_end:
        end_to_end(args, items, retrievers)


def end_to_end(args, items, retrievers) -> None:
    from spacy_spanqa.qa import QuestionAnswerer
    from spacy_spanqa.reader.loading import load_reader

    items = items[: args.end_to_end]
    golds = {q.id: [t for t, _ in q.answers] for q, _ in items}
    nlp = load_reader(None, args.runtime)
    print(f"\nend to end, top-5, {len(items)} held-out questions, shipped reader:")
    for name in ("bm25s", "milvus-lite snowball"):
        qa = QuestionAnswerer(retrievers[name], nlp, top_k=5)
        results = qa.ask_many([q.question for q, _ in items])
        ev = squad_evaluate(golds, {q.id: (r.answer.text if r.answer else "") for (q, _), r in zip(items, results)})
        print(f"  {name:22} EM {ev['exact']:.1f} F1 {ev['f1']:.1f}")


def syncs(args, work: Path) -> None:
    from spacy_spanqa.retrieval.settings import IndexSettings, MilvusSettings

    raw = json.loads((args.data / "new_wiki_v1.0.json").read_text(encoding="utf8"))
    paragraphs = [{"title": a["title"], **p} for a in raw["data"] for p in a["paragraphs"]]
    random.Random(18).shuffle(paragraphs)
    per_file, n_syncs = 7, 10
    held, base = paragraphs[: n_syncs * per_file], paragraphs[n_syncs * per_file :]
    groups = [held[i : i + per_file] for i in range(0, len(held), per_file)]
    items = [(q["question"], p["context"]) for p in held for q in p["qas"]]
    launch = "The launch code of the Zephyr probe is 4417."

    def recall(retriever) -> float:
        found = retriever.search_many([q for q, _ in items], 5)
        return sum(any(p.text in context for p, _ in hits) for (_, context), hits in zip(items, found)) / len(items)

    rows = {}
    for name, index, settings in [("bm25s", "syncs.idx", IndexSettings(max_words=80)),
                                  ("milvus-lite", "syncs.db", MilvusSettings(max_words=80))]:
        kb = work / f"syncs-{name}"
        kb.mkdir()
        for n, start in enumerate(range(0, len(base), per_file)):
            write_squad_part(kb / f"part{n:03d}.jsonl", base[start : start + per_file])
        retriever, build_s = timed(lambda: sync_index(kb, work / index, settings=settings))
        existing = sorted(kb.glob("part*.jsonl"))
        sync_s = []
        for n, group in enumerate(groups):
            write_squad_part(kb / f"added{n}.jsonl" if n % 2 == 0 else existing[n], group)
            retriever, seconds = timed(lambda: sync_index(kb, work / index, settings=settings))
            sync_s.append(seconds)
        (kb / "launch.txt").write_text(launch, encoding="utf8")
        retriever = sync_index(kb, work / index, settings=settings)
        hits = retriever.search("What is the launch code of the Zephyr probe?", 200)
        rank = next((i + 1 for i, (p, _) in enumerate(hits) if p.path == "launch.txt"), None)
        synced = recall(retriever)
        if hasattr(retriever, "close"):
            retriever.close()
        fresh = sync_index(kb, work / f"fresh-{index}", settings=settings)
        rows[name] = {"passages": len(fresh), "build_s": build_s, "sync_s": statistics.median(sync_s),
                      "synced": synced, "fresh": recall(fresh), "rank": rank or "> 200"}
        if hasattr(fresh, "close"):
            fresh.close()
    print(f"\n2. Syncs: {len(base)} paragraphs in files of {per_file}, then {n_syncs} syncs of one file each "
          f"({len(held)} paragraphs) and one with a rare fact; recall@5 on the synced paragraphs' {len(items)} questions")
    table(rows, [
        ("passages", "passages", "{:,}"), ("build (s)", "build_s", "{:.1f}"), ("sync of one file, median (s)", "sync_s", "{:.2f}"),
        ("recall@5 after the syncs", "synced", "{:.3f}"), ("recall@5, fresh build", "fresh", "{:.3f}"),
        ("rank of the rare fact after its sync", "rank", "{}"),
    ])
    for name, row in rows.items():
        print(f"{name}: synced / fresh recall@5 = {row['synced'] / row['fresh']:.3f}")


def write_squad_part(path: Path, paragraphs) -> None:
    path.write_text("".join(json.dumps({"text": p["context"], "title": p["title"]}) + "\n" for p in paragraphs),
                    encoding="utf8")


def scale(args, work: Path) -> None:
    contexts, questions = load_squadshifts(args.data)
    passages = make_passages(contexts, args.n_passages, args.seed)
    kb = work / "scale"
    kb.mkdir()
    for start in range(0, len(passages), PER_FILE):
        write_part(kb / f"part{start // PER_FILE:05d}.jsonl", passages[start : start + PER_FILE])
    queries = [q for q, _ in random.Random(args.seed).sample(questions, args.queries)]
    changed = kb / "part00007.jsonl"
    rng = random.Random(args.seed + 1)
    rows = {}
    backends = [("bm25s", work / "scale.idx", {}), ("milvus-lite snowball", work / "scale.db", {}),
                ("milvus-lite snowball-stop", work / "scale_stop.db", {"stopwords": True})]
    for name, index, settings in backends:
        retriever, build_s = timed(lambda: sync_index(kb, index, progress=not args.no_progress, **settings))
        lat = latencies(lambda q: retriever.search(q, 5), queries)
        _, noop_s = timed(lambda: retriever.sync(kb))
        original = changed.read_text(encoding="utf8")
        texts = [json.loads(line)["text"] for line in original.splitlines()]
        rng.shuffle(texts)
        changed.write_text("".join(json.dumps({"text": t, "title": "changed"}) + "\n" for t in texts), encoding="utf8")
        report, changed_s = timed(lambda: retriever.sync(kb))
        assert report.read == [changed.name], report
        changed.write_text(original, encoding="utf8")
        retriever.sync(kb)
        disk = sum(f.stat().st_size for f in Path(index).rglob("*") if f.is_file())
        rows[name] = {"passages": len(retriever), "build_s": build_s, "passages_per_s": len(retriever) / build_s,
                      **lat, "noop_s": noop_s, "changed_s": changed_s, "disk_mb": disk / 2**20}
        if hasattr(retriever, "close"):
            retriever.close()
    print(f"\n3. Scale: {len(passages):,} records in {len(passages) // PER_FILE:,} files of {PER_FILE}; "
          f"{args.queries} SQuADShifts questions")
    table(rows, [
        ("passages", "passages", "{:,}"), ("build (s)", "build_s", "{:.1f}"), ("build passages/s", "passages_per_s", "{:.0f}"),
        ("query p50, top-5 (ms)", "p50_ms", "{:.1f}"), ("query p95 (ms)", "p95_ms", "{:.1f}"),
        ("sync, nothing changed (s)", "noop_s", "{:.2f}"), (f"sync, one file of {PER_FILE} changed (s)", "changed_s", "{:.2f}"),
        ("on disk (MB)", "disk_mb", "{:.0f}"),
    ])


def write_part(path: Path, passages) -> None:
    path.write_text("".join(json.dumps({"text": p.text, "title": p.title}) + "\n" for p in passages), encoding="utf8")


def table(rows: Dict[str, dict], lines: List[tuple]) -> None:
    names = list(rows)
    print(f"{'':38}" + "".join(f"{n:>27}" for n in names))
    for label, key, fmt in lines:
        print(f"{label:38}" + "".join(f"{fmt.format(rows[n][key]):>27}" for n in names))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA, help="The squadshifts folder.")
    parser.add_argument("--n-passages", type=int, default=100_000, help="Scale run size (0: skip it).")
    parser.add_argument("--queries", type=int, default=100, help="Questions timed one by one.")
    parser.add_argument("--end-to-end", type=int, default=0, help="Also read the top-5 with the shipped reader for N questions.")
    parser.add_argument("--runtime", default=None, help="Reader runtime for --end-to-end: torch, onnx or int8.")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-syncs", action="store_true")
    parser.add_argument("--dense", action="store_true", help="Quality: also Milvus Lite dense and hybrid.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args()
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; python {platform.python_version()}")
    warnings.simplefilter("ignore")  # re-anchored SQuAD answers do not matter here
    split_passages(Document("warm-up", "Load the sentencizer. Before timing.", "", ""))  # not billed to the first backend
    work = Path(tempfile.mkdtemp(prefix="spanqa-milvus-bench-"))
    try:
        if not args.skip_quality:
            quality(args, work)
        if not args.skip_syncs:
            syncs(args, work)
        if args.n_passages:
            scale(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
