"""Open-book QA end to end: retrieval recall, reader F1 on the gold paragraph,
end-to-end EM/F1, answer ranking with and without BM25, the no-answer
threshold, and the latency of one `ask`.

The knowledge base is every SQuADShifts new_wiki paragraph (1,581); the
questions are the held-out ones of `spanqa split` (10% of paragraphs, seed 13),
so the default reader never saw them.

    python benchmarks/end_to_end.py --n 300
"""
import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from spacy_spanqa.retrieval.bm25 import BM25Index
from spacy_spanqa.qa import QuestionAnswerer, load_reader, rank_answers
from spacy_spanqa.squad.format import read_squad
from spacy_spanqa.squad.metric import squad_evaluate
from spacy_spanqa.squad.splits import split_paragraphs

DATA = Path(__file__).parent.parent.parent / "shared" / "data" / "squadshifts" / "new_wiki_v1.0.json"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--model", default=None, help="reader (default: the shipped one)")
    parser.add_argument("--n", type=int, default=300, help="held-out questions to ask (0: all)")
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--runtime", default=None, help="torch, onnx or int8 (default: the reader's setting)")
    args = parser.parse_args()

    paragraphs = read_squad(args.data)
    gold_doc = {id(p): f"{args.data.name}:{a}:{i}" for a, i, p in _positions(args.data, paragraphs)}
    _, dev = split_paragraphs(paragraphs, 0.1, seed=13)
    items = [(q, p) for p in dev for q in p.questions]
    items = items[: args.n] if args.n else items
    questions = [q.question for q, _ in items]
    golds = {q.id: [t for t, _ in q.answers] for q, _ in items}

    with tempfile.TemporaryDirectory() as tmp:
        kb = Path(tmp) / "kb"
        kb.mkdir()
        shutil.copy(args.data, kb / args.data.name)
        start = time.perf_counter()
        index = BM25Index.build(kb, Path(tmp) / "idx", progress=False)
        build = time.perf_counter() - start
        nlp = load_reader(args.model, args.runtime)
        qa = QuestionAnswerer(index, nlp, top_k=args.top_k)
        print(f"{len(paragraphs)} paragraphs -> {len(index)} passages indexed in {build:.1f}s; "
              f"{len(items)} held-out questions")

        # Retrieval recall: is a passage of the gold paragraph in the top k?
        hits = index.search_many(questions, 25)
        docs = [[p.document_id for p, _ in found] for found in hits]
        for k in (1, 5, 20):
            recall = sum(gold_doc[id(p)] in d[:k] for (_, p), d in zip(items, docs)) / len(items)
            print(f"retrieval recall@{k}: {recall:.3f}")

        # Reader alone on the gold paragraph.
        reader = qa.reader
        gold_answers = reader.answer_pairs([(p.context, q.question) for q, p in items], no_answer_threshold=0.0)
        gold_f1 = squad_evaluate(golds, {q.id: a.text for (q, _), a in zip(items, gold_answers)})
        print(f"reader on gold paragraph: EM {gold_f1['exact']:.1f} F1 {gold_f1['f1']:.1f}")

        # End to end: read the top-k passages once, rank answers several ways.
        top = [found[: args.top_k] for found in hits]
        # Questions whose gold paragraph is removed from the results: the right answer is "no answer".
        negatives = [[(p, s) for p, s in found if p.document_id != gold_doc[id(par)]][: args.top_k]
                     for found, (_, par) in zip(hits, items)]
        pairs = [(p.text, q) for found, q in zip(top + negatives, questions + questions) for p, _ in found]
        answers = iter(reader.answer_pairs(pairs, no_answer_threshold=0.0))
        read = [[next(answers) for _ in found] for found in top + negatives]
        pos, neg = read[: len(items)], read[len(items):]

        def rank(t):
            """Rank as QuestionAnswerer does, the reader's threshold at t: (answerable F1, share of gold-removed refused)."""
            results = [rank_answers(q, r, f, qa.bm25_weight, t) for q, r, f in zip(questions, pos, top)]
            ev = squad_evaluate(golds, {q.id: (r.answer.text if r.answer else "") for (q, _), r in zip(items, results)})
            refused = sum(rank_answers(q, r, f, qa.bm25_weight, t).answer is None for q, r, f in zip(questions, neg, negatives))
            return ev, refused / len(items)

        print(f"\nend to end, top-{args.top_k} passages (threshold 0):")
        for weight in (0.0, 0.5, 1.0, 2.0):
            qa.bm25_weight = weight
            ev, _ = rank(0.0)
            print(f"  bm25_weight {weight:<4} EM {ev['exact']:.1f} F1 {ev['f1']:.1f}")
        qa.bm25_weight = 2.0

        default = reader.cfg["no_answer_threshold"]
        print("\nno-answer threshold (answerable F1 | share of gold-removed questions refused):")
        for t in sorted({0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, round(default, 3)}):
            ev, refused = rank(t)
            mark = "  <- the reader's threshold" if t == round(default, 3) else ""
            print(f"  threshold {t:.3f}: EM {ev['exact']:5.1f} F1 {ev['f1']:5.1f} | refused {refused:.1%}{mark}")

        # Latency of one ask, model loaded.
        times = []
        for q in questions[:50]:
            start = time.perf_counter()
            qa.ask(q)
            times.append(time.perf_counter() - start)
        times.sort()
        print(f"\nask latency (top-{args.top_k}, {len(times)} questions): p50 {statistics.median(times) * 1000:.0f} ms, "
              f"p95 {times[int(0.95 * (len(times) - 1))] * 1000:.0f} ms")


def _positions(path, paragraphs):
    """(article, paragraph index, paragraph) in file order, as the knowledge base numbers them."""
    import json

    data = json.loads(Path(path).read_text(encoding="utf8"))
    flat = [(a, i) for a, art in enumerate(data["data"]) for i, _ in enumerate(art["paragraphs"])]
    return [(a, i, p) for (a, i), p in zip(flat, paragraphs)]


if __name__ == "__main__":
    main()
