"""Reader quality on every held-out set `spanqa split` writes, side by side
for one or more readers: SQuAD EM/F1, the share of unanswerable questions
answered "no answer", the best-F1 threshold and the calibration error.

    python benchmarks/reader_quality.py --dev-dir data --model NEW --model OLD
"""
import argparse
import json
import sys
from pathlib import Path

from spacy_spanqa.squad.evaluation import read_questions, score_outputs
from spacy_spanqa.reader.loading import get_span_qa, load_reader
from spacy_spanqa.squad.format import read_squad


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", default=None,
                        help="pipeline dir (repeat to compare; default: the shipped reader)")
    parser.add_argument("--dev-dir", type=Path, default=Path("data"))
    parser.add_argument("--sets", nargs="*", default=None, help="dev file stems (default: every dev_*.json)")
    parser.add_argument("--limit", type=int, default=0, help="questions per set (0: all)")
    parser.add_argument("--output", type=Path, default=None, help="write all scores as JSON here")
    args = parser.parse_args()

    sets = args.sets or sorted(p.stem for p in args.dev_dir.glob("dev_*.json") if not p.stem.startswith("dev_all"))
    models = args.model or [None]
    table = {}
    for model in models:
        nlp = load_reader(model)
        reader = get_span_qa(nlp)
        threshold = reader.cfg["no_answer_threshold"]
        name = model or "shipped reader"
        for stem in sets:
            paragraphs = read_squad(args.dev_dir / f"{stem}.json")
            outputs, golds = read_questions(nlp, paragraphs, limit=args.limit, progress=False)
            scores, _, _ = score_outputs(outputs, golds, reader.score_margin, threshold)
            table[(name, stem)] = scores
            print(f"{name} {stem}: F1 {scores['f1']:.1f}", file=sys.stderr, flush=True)
    print("| reader | held-out set | questions | unanswerable | EM | F1 | HasAns F1 | no answer to unanswerable "
          "| best-F1 threshold | ECE |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (name, stem), s in table.items():
        refused = f"{s['NoAns_refused']:.1f}%" if s.get("NoAns_refused") is not None else "-"
        share = f"{100 * s.get('NoAns_total', 0) / s['total']:.0f}%"
        print(f"| {name} | {stem[4:]} | {s['total']} | {share} | {s['exact']:.1f} | {s['f1']:.1f} | "
              f"{s.get('HasAns_f1', s['f1']):.1f} | {refused} | {s['best_f1_thresh']:.3f} | {s['ece']:.3f} |")
    if args.output:
        args.output.write_text(json.dumps({f"{n}|{k}": v for (n, k), v in table.items()}, indent=1))


if __name__ == "__main__":
    main()
