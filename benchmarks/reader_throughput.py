"""Reader speed: span_qa against transformers' question-answering pipeline.

Same weights, same questions and contexts, same window settings, one run.
Prints questions/second for each (fastest of interleaved rounds), the
ratios, the share of identical answers and SQuAD F1 against the gold answers.

    python benchmarks/reader_throughput.py --n 400
    python benchmarks/reader_throughput.py --model PIPELINE_DIR --data SQUAD.json
"""
import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
from transformers import pipeline

from spacy_spanqa.reader.model import get_tokenizer, get_transformer
from spacy_spanqa.reader.loading import get_span_qa, load_reader
from spacy_spanqa.squad.metric import squad_evaluate
from spacy_spanqa.squad.format import read_squad
from spacy_spanqa.squad.splits import split_paragraphs

DATA = Path(__file__).parent.parent.parent / "shared" / "data" / "squadshifts" / "new_wiki_v1.0.json"


def load_questions(path: Path, n: int, held_out: bool):
    paragraphs = read_squad(path)
    if held_out:  # the paragraphs `spanqa split` holds out (10%, seed 13): unseen by the shipped reader
        paragraphs = split_paragraphs(paragraphs, 0.1, seed=13)[1]
    items = []
    for p in paragraphs:
        for q in p.questions:
            items.append((q.id, q.question, p.context, [t for t, _ in q.answers]))
    return items[:n]


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="pipeline dir / HF QA checkpoint (default: shipped reader)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--n", type=int, default=400, help="questions")
    parser.add_argument("--all", action="store_true", help="use every paragraph, not only the held-out ones")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per reader (fastest kept)")
    parser.add_argument("--profile", action="store_true",
                        help="also print where span_qa fp32 spends its time (torch profiler)")
    parser.add_argument("--hf-batch-sizes", type=int, nargs="+", default=[1, 16])
    args = parser.parse_args()

    items = load_questions(args.data, args.n, held_out=not args.all)
    golds = {qid: answers for qid, _, _, answers in items}
    nlp = load_reader(args.model)
    reader = get_span_qa(nlp)
    cfg = reader.cfg
    pairs = [(context, question) for _, question, context, _ in items]

    with tempfile.TemporaryDirectory() as hf_dir:
        get_transformer(reader.model).save_pretrained(hf_dir)
        get_tokenizer(reader.model).save_pretrained(hf_dir)
        hf = pipeline("question-answering", model=hf_dir, tokenizer=hf_dir, device=-1)
    hf_kwargs = dict(
        max_seq_len=cfg["max_seq_length"], doc_stride=cfg["doc_stride"],
        max_question_len=cfg["max_query_length"], max_answer_len=cfg["max_answer_length"],
    )

    def run_hf(batch_size: int):
        out = hf(question=[q for _, q, _, _ in items], context=[c for _, _, c, _ in items],
                 batch_size=batch_size, **hf_kwargs)
        out = out if isinstance(out, list) else [out]
        return [(o["start"], o["end"], o["answer"]) for o in out]

    def run_ours(runtime: str):
        reader.use_runtime(runtime)
        answers = reader.answer_pairs(pairs, no_answer_threshold=0.0)
        return [(a.start_char, a.end_char, a.text) for a in answers]

    readers = {f"hf pipeline (batch {bs})": (lambda bs=bs: run_hf(bs)) for bs in args.hf_batch_sizes}
    readers["span_qa fp32"] = lambda: run_ours("torch")
    readers["span_qa fp32, onnx"] = lambda: run_ours("onnx")
    readers["span_qa int8"] = lambda: run_ours("int8")
    hf(question=items[0][1], context=items[0][2], **hf_kwargs)  # warm-up
    build_secs = {}
    for runtime in ("onnx", "int8"):  # the one-off ONNX Runtime export (+ int8 quantization)
        reader.use_runtime(runtime)
        _, build_secs[runtime] = timed(lambda: reader.answer_pairs(pairs[:1]))
    for run in readers.values():  # warm-up round, untimed
        run()
    # Rounds interleave the readers and each keeps its fastest round, so a
    # slow spell of the machine does not land on one reader only.
    rows = {name: (float("inf"), None) for name in readers}
    for round_ in range(args.rounds):
        for name, run in readers.items():
            answers, secs = timed(run)
            rows[name] = (min(rows[name][0], secs), answers)
            print(f"round {round_ + 1}: {name}: {len(items) / secs:.1f} q/s", file=sys.stderr)

    best_hf = min((k for k in rows if k.startswith("hf")), key=lambda k: rows[k][0])
    base_secs, base_answers = rows[best_hf]
    fp32_answers = rows["span_qa fp32"][1]
    print(f"{len(items)} questions from {args.data.name}; windows {cfg['max_seq_length']}/{cfg['doc_stride']}; "
          f"torch threads {torch.get_num_threads()}; fastest of {args.rounds} rounds; ONNX Runtime "
          f"session built once in {build_secs['onnx']:.1f} s (fp32) / {build_secs['int8']:.1f} s (int8)")
    print(f"{'reader':<24}{'q/s':>8}{'vs best HF':>12}{'same as HF':>12}{'same as fp32':>14}{'F1':>8}")
    for name, (secs, answers) in rows.items():
        same_hf = sum(a[:2] == b[:2] for a, b in zip(answers, base_answers)) / len(items)
        same_fp32 = sum(a[:2] == b[:2] for a, b in zip(answers, fp32_answers)) / len(items)
        f1 = squad_evaluate(golds, {qid: a[2] for (qid, *_), a in zip(items, answers)})["f1"]
        print(f"{name:<24}{len(items) / secs:>8.1f}{base_secs / secs:>11.2f}x{same_hf:>12.1%}{same_fp32:>14.1%}{f1:>8.1f}")
    if args.profile:
        from torch.profiler import ProfilerActivity, profile

        reader.use_runtime("torch")
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            reader.answer_pairs(pairs, no_answer_threshold=0.0)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=8))
    print(json.dumps({"best_hf": best_hf, "fp32_speedup": round(base_secs / rows["span_qa fp32"][0], 2),
                      "fp32_onnx_speedup": round(base_secs / rows["span_qa fp32, onnx"][0], 2),
                      "int8_speedup": round(base_secs / rows["span_qa int8"][0], 2)}))


if __name__ == "__main__":
    main()
