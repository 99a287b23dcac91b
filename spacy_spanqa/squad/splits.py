"""Train/dev splits of SQuAD paragraphs, with generated unanswerable questions:
the recipe `spanqa split` runs (`make_splits`)."""
import collections
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from .format import SquadParagraph, SquadQuestion, read_squad, write_squad
from .metric import mentions_answer
from .negatives import (
    answer_type_negatives,
    antonym_negatives,
    entity_swap_negatives,
    on_topic_negatives,
    paragraphs_by_title,
    retrieval_negatives,
)
from .parallel_facts import parallel_fact_paragraphs


def split_paragraphs(
    paragraphs: Sequence[SquadParagraph], dev_fraction: float, seed: int = 0
) -> Tuple[List[SquadParagraph], List[SquadParagraph]]:
    """Split by paragraph (never by question), so no dev context is seen in training."""
    order = list(range(len(paragraphs)))
    random.Random(seed).shuffle(order)
    n_dev = int(round(len(order) * dev_fraction))
    dev = set(order[:n_dev])
    return (
        [p for i, p in enumerate(paragraphs) if i not in dev],
        [p for i, p in enumerate(paragraphs) if i in dev],
    )


def add_unanswerable(
    paragraphs: Sequence[SquadParagraph], fraction: float, seed: int = 0
) -> List[SquadParagraph]:
    """Pair a `fraction` of questions with another paragraph of the same title
    (or any other paragraph) as unanswerable questions, SQuAD 2.0 style, so
    the reader learns an honest no-answer for passages that do not hold it."""
    rng = random.Random(seed)
    by_title = paragraphs_by_title(paragraphs)
    extra: Dict[int, List[SquadQuestion]] = collections.defaultdict(list)
    for i, p in enumerate(paragraphs):
        for q in p.questions:
            if not q.answers or rng.random() >= fraction:
                continue
            pool = [j for j in by_title[p.title] if j != i] or [rng.randrange(len(paragraphs))]
            j = rng.choice(pool)
            if j != i and not mentions_answer(paragraphs[j].context, [t for t, _ in q.answers]):
                extra[j].append(SquadQuestion(q.id + "-neg", q.question, []))
    return [
        SquadParagraph(p.title, p.context, list(p.questions) + extra[i])
        for i, p in enumerate(paragraphs)
    ]


@dataclass
class SplitCounts:
    """What `make_splits` wrote: training questions by kind, and dev paragraphs/questions."""

    answerable: int = 0
    on_topic: int = 0
    retrieval: int = 0
    swap: int = 0
    antonym: int = 0
    answer_type: int = 0
    same_article: int = 0
    parallel_facts: int = 0
    dev_questions: int = 0
    per_input: List[Tuple[str, int, int]] = field(default_factory=list)  # (file name, train, dev paragraphs)

    def summary(self) -> str:
        kinds = {"answerable": self.answerable, "on-topic": self.on_topic, "retrieval": self.retrieval,
                 "swap": self.swap, "antonym": self.antonym, "answer-type": self.answer_type,
                 "same-article": self.same_article, "parallel-facts": self.parallel_facts}
        return f"train: {', '.join(f'{v} {k}' for k, v in kinds.items())}; dev: {self.dev_questions} questions"


def make_splits(
    inputs: Sequence[Path],
    train_out: Path,
    dev_dir: Path,
    *,
    dev_fraction: float = 0.1,
    on_topic: float = 0.3,
    retrieval: float = 0.2,
    swap: float = 0.5,
    antonym: float = 0.5,
    answer_type: float = 0.5,
    unanswerable: float = 0.0,
    parallel_facts: int = 0,
    seed: int = 13,
) -> SplitCounts:
    """Split SQuAD files into train/dev by paragraph (no context leaks) and add
    generated unanswerable questions.

    Writes `train_out` (every input's training paragraphs plus negatives: a
    share `on_topic`, `retrieval` and `swap` of the answerable questions each
    get one of that kind, as do a share `antonym` and `answer_type` of the
    questions those kinds apply to, and `unanswerable` one asked of another
    paragraph of the same article) and, in `dev_dir`, per input `dev_<name>.json` (its
    held-out paragraphs as they are) and `dev_<name>_negatives.json` (the same
    plus one generated unanswerable question per answerable one, a third of
    each kind), and the mixed `dev_all.json` / `dev_all_negatives.json`.
    With `parallel_facts`, that many paragraphs of parallel facts join the
    training data, and a fifth as many (other names, and relations training
    never sees) are written to `dev_parallel_facts.json` (see `parallel_facts`).
    """
    dev_dir = Path(dev_dir)
    dev_dir.mkdir(parents=True, exist_ok=True)
    train: List[SquadParagraph] = []
    dev_all: List[SquadParagraph] = []
    dev_all_neg: List[SquadParagraph] = []
    counts = SplitCounts()
    for n, path in enumerate(map(Path, inputs)):
        tr, dv = split_paragraphs(read_squad(path), dev_fraction, seed=seed)
        name = path.stem.replace("_v1.0", "")
        write_squad(dv, dev_dir / f"dev_{name}.json", version="v2.0")
        dev_neg = dv + dev_negatives(dv, seed + n)
        random.Random(seed + n).shuffle(dev_neg)
        write_squad(dev_neg, dev_dir / f"dev_{name}_negatives.json")
        topic = on_topic_negatives(tr, on_topic, seed=seed + n)
        found = retrieval_negatives(tr, retrieval, seed=seed + 100 + n)
        swapped = entity_swap_negatives(tr, swap, seed=seed + 200 + n)
        opposite = antonym_negatives(tr, antonym, seed=seed + 300 + n)
        untyped = answer_type_negatives(tr, answer_type, seed=seed + 400 + n)
        counts.answerable += sum(1 for p in tr for q in p.questions if q.answers)
        counts.on_topic += _n_questions(topic)
        counts.retrieval += _n_questions(found)
        counts.swap += _n_questions(swapped)
        counts.antonym += _n_questions(opposite)
        counts.answer_type += _n_questions(untyped)
        counts.per_input.append((path.name, len(tr), len(dv)))
        train += tr + topic + found + swapped + opposite + untyped
        dev_all += dv
        dev_all_neg += dev_neg
    before = _n_questions(train)
    train = add_unanswerable(train, unanswerable, seed=1)
    counts.same_article = _n_questions(train) - before
    if parallel_facts:
        facts = parallel_fact_paragraphs(parallel_facts, "train", seed=seed)
        counts.parallel_facts = _n_questions(facts)
        train += facts
        write_squad(parallel_fact_paragraphs(max(1, parallel_facts // 5), "dev", seed=seed),
                    dev_dir / "dev_parallel_facts.json")
    counts.dev_questions = _n_questions(dev_all)
    random.Random(seed).shuffle(train)
    write_squad(train, train_out)
    random.Random(2).shuffle(dev_all)  # mixed dev sets, so a `limit` in the dev reader samples every input
    random.Random(3).shuffle(dev_all_neg)
    write_squad(dev_all, dev_dir / "dev_all.json")
    write_squad(dev_all_neg, dev_dir / "dev_all_negatives.json")
    return counts


def dev_negatives(paragraphs: Sequence[SquadParagraph], seed: int) -> List[SquadParagraph]:
    """One generated unanswerable question per answerable dev question, a third
    of each kind (on-topic, swapped name or number, retrieval); retrieval where
    the others cannot be made. The retrieval pool is the dev paragraphs only."""

    def only(keep):
        return [SquadParagraph(p.title, p.context, [q for i, q in enumerate(p.questions) if keep(i, q)])
                for p in paragraphs]

    made = on_topic_negatives(only(lambda i, q: i % 3 == 0), 1.0, seed=seed)
    made += entity_swap_negatives(only(lambda i, q: i % 3 == 1), 1.0, seed=seed)
    done = {q.id.rsplit("-neg-", 1)[0] for p in made for q in p.questions}
    return made + retrieval_negatives(only(lambda i, q: q.id not in done), 1.0, seed=seed)


def _n_questions(paragraphs: Sequence[SquadParagraph]) -> int:
    return sum(len(p.questions) for p in paragraphs)
