"""Training speed: seconds per `nlp.update` step with the CPU training options
against the settings the reader was trained with before, in one run.

"before": attention dropout 0.1 (BERT's and MiniLM's own) and trainable word embeddings.
"after": `attention_dropout = 0` (PyTorch's fused attention kernel) and
`freeze_embeddings = true`, as in configs/minilm_cpu.cfg.
"frozen2": "after" with `freeze_layers = 2` (no backward pass through the
embeddings and the two lowest of MiniLM-L6's six layers).
Both train the same weights on the same length-sorted batches of real
training questions, with the config's optimizer; rounds are interleaved and
the fastest round of each is kept, since this shared machine's speed drifts.

    python benchmarks/train_speed.py --steps 8 --rounds 3
"""
import argparse
import tempfile
import time
from pathlib import Path

import spacy
import torch
from spacy.training import Example
from thinc.api import Adam, warmup_linear

from spacy_spanqa.reader.loading import get_span_qa, load_reader
from spacy_spanqa.reader.model import get_tokenizer, get_transformer
from spacy_spanqa.reader.corpus import create_squad_reader

from machine import cpu_model  # benchmarks/machine.py, beside this script

DATA = Path(__file__).parent.parent.parent / "shared" / "data" / "squadshifts" / "new_wiki_v1.0.json"
VARIANTS = {
    "before": {"attention_dropout": 0.1, "freeze_embeddings": False},
    "after": {"attention_dropout": 0.0, "freeze_embeddings": True},
    "frozen2": {"attention_dropout": 0.0, "freeze_embeddings": True, "freeze_layers": 2},
}


def build(checkpoint: str, settings: dict):
    nlp = spacy.blank("en")
    nlp.add_pipe("span_qa", config={
        "max_seq_length": 256, "doc_stride": 64, "max_query_length": 48,
        "model": {"name": checkpoint, **settings},
    })
    nlp.initialize()
    return nlp


def batches(nlp, data: Path, n_steps: int, batch_questions: int):
    """Length-sorted batches of one question each, as spacy.batch_by_padded makes them."""
    examples = list(create_squad_reader(data, limit=n_steps * batch_questions * 4)(nlp))
    examples.sort(key=lambda eg: len(eg.reference))
    step = len(examples) // n_steps
    picked = [examples[i * step : i * step + batch_questions] for i in range(n_steps)]
    return [[Example(eg.predicted.copy(), eg.reference) for eg in b] for b in picked]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="pipeline to start from (default: the shipped reader)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--steps", type=int, default=8, help="timed steps per round")
    parser.add_argument("--batch", type=int, default=16, help="questions per step")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        reader = get_span_qa(load_reader(args.model))
        get_transformer(reader.model).save_pretrained(tmp)
        get_tokenizer(reader.model).save_pretrained(tmp)
        pipelines = {name: build(tmp, settings) for name, settings in VARIANTS.items()}
    data = batches(pipelines["before"], args.data, args.steps, args.batch)
    optimizers = {
        name: Adam(warmup_linear(1e-5, 10, 1000), L2=0.01, grad_clip=1.0, eps=1e-6) for name in VARIANTS
    }
    for name, nlp in pipelines.items():  # one untimed step each: allocations, lazy imports
        nlp.update(data[0], sgd=optimizers[name], drop=0.1)
    best = {name: float("inf") for name in VARIANTS}
    for r in range(args.rounds):
        for name, nlp in pipelines.items():
            start = time.perf_counter()
            for batch in data:
                nlp.update(batch, sgd=optimizers[name], drop=0.1)
            seconds = (time.perf_counter() - start) / len(data)
            best[name] = min(best[name], seconds)
            print(f"round {r + 1} {name}: {seconds:.2f} s/step", flush=True)
    questions = sum(len(b) for b in data) / len(data)
    print(f"\nCPU: {cpu_model()}; {len(data)} steps of {questions:.0f} questions, fastest of {args.rounds} rounds")
    cpus = torch.get_num_threads()
    print(f"| settings | s/step | questions per CPU-hour ({cpus} threads) | vs before |\n|---|---|---|---|")
    for name in VARIANTS:
        per_cpu_hour = questions / best[name] * 3600 / cpus
        print(f"| {name} | {best[name]:.2f} | {per_cpu_hour:,.0f} | {best['before'] / best[name]:.2f}x |")


if __name__ == "__main__":
    main()
