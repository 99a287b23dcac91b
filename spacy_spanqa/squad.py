"""SQuAD v1.1/v2.0 data: reading, checking and writing files, the spaCy corpus
reader, and paragraph splits. The official metric is in reader/metric.py."""
import collections
import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Sequence, Tuple

from spacy.language import Language
from spacy.training import Example
from spacy.util import registry

from .reader.extensions import QUESTIONS_ATTR, ensure_extensions
from .reader.metric import normalize_answer


@dataclass
class SquadQuestion:
    id: str
    question: str
    answers: List[Tuple[str, int]] = field(default_factory=list)  # (text, answer_start)

    @property
    def is_impossible(self) -> bool:
        return not self.answers

    def to_dict(self, with_answers: bool = True) -> dict:
        d = {"id": self.id, "question": self.question}
        if with_answers:
            d["answers"] = [{"text": t, "answer_start": s} for t, s in self.answers]
        return d


@dataclass
class SquadParagraph:
    title: str
    context: str
    questions: List[SquadQuestion]


def read_squad(path: Path) -> List[SquadParagraph]:
    """Read and check a SQuAD JSON file.

    Answers whose `answer_start` does not point at their text are moved to the
    nearest occurrence of the text in the context; answers whose text is not
    in the context at all are dropped. Both are counted in one warning.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"SQuAD file not found: {path}. Give the path to a SQuAD-format JSON file.")
    try:
        data = json.loads(path.read_text(encoding="utf8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not valid JSON ({err}). Give a SQuAD v1.1/v2.0 JSON file.") from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise ValueError(f"{path} is not in SQuAD format: it needs a top-level 'data' list of articles.")
    paragraphs: List[SquadParagraph] = []
    moved = dropped = 0
    for a, article in enumerate(data["data"]):
        try:
            title = str(article.get("title", ""))
            for p in article["paragraphs"]:
                context = p["context"]
                questions = []
                for qa in p["qas"]:
                    answers = []
                    if not qa.get("is_impossible", False):
                        for ans in qa.get("answers", []):
                            text, start = ans["text"], int(ans["answer_start"])
                            if context[start : start + len(text)] != text:
                                start = _nearest_occurrence(context, text, start)
                                if start < 0:
                                    dropped += 1
                                    continue
                                moved += 1
                            answers.append((text, start))
                        if not answers and qa.get("answers"):
                            continue  # every answer was unusable: not a no-answer question
                    questions.append(SquadQuestion(str(qa["id"]), qa["question"], answers))
                paragraphs.append(SquadParagraph(title, context, questions))
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise ValueError(
                f"{path}: article {a} is malformed (missing or bad field {err}). "
                "Each article needs 'paragraphs' with 'context' and 'qas' (id, question, answers)."
            ) from None
    if moved or dropped:
        warnings.warn(
            f"{path}: {moved} answers had offsets not matching their text and were re-anchored; "
            f"{dropped} answers whose text is not in the context were dropped."
        )
    if not any(p.questions for p in paragraphs):
        raise ValueError(f"{path} holds no questions. Give a SQuAD file with at least one 'qas' entry.")
    return paragraphs


def _nearest_occurrence(context: str, text: str, start: int) -> int:
    if not text:
        return -1
    starts = [m.start() for m in re.finditer(re.escape(text), context)]
    return min(starts, key=lambda s: abs(s - start)) if starts else -1


def write_squad(paragraphs: Sequence[SquadParagraph], path: Path, version: str = "v2.0") -> None:
    """Write paragraphs in their order: a run of paragraphs with one title is one article."""
    data: List[dict] = []
    for p in paragraphs:
        qas = []
        for q in p.questions:
            d = q.to_dict()
            d["is_impossible"] = q.is_impossible
            qas.append(d)
        if not data or data[-1]["title"] != p.title:
            data.append({"title": p.title, "paragraphs": []})
        data[-1]["paragraphs"].append({"context": p.context, "qas": qas})
    Path(path).write_text(json.dumps({"version": version, "data": data}), encoding="utf8")


# --- spaCy corpus reader -------------------------------------------------


@registry.readers("spacy_spanqa.SquadReader.v1")
def create_squad_reader(
    path: Path, limit: int = 0, questions_per_example: int = 1
) -> Callable[[Language], Iterable[Example]]:
    """Read SQuAD JSON as Examples: each Doc is a context, the questions ride on
    `doc._.qa_questions`; the reference Doc carries the gold answers.

    limit (int): Stop after this many questions (0: all).
    questions_per_example (int): Questions per Example (0: a whole paragraph),
        so a batch of N examples is N questions with the default of 1.
    """

    def read(nlp: Language) -> Iterator[Example]:
        ensure_extensions()
        count = 0
        for p in read_squad(path):
            n = questions_per_example or max(1, len(p.questions))
            context = nlp.make_doc(p.context)  # tokenised once, copied per Example
            for i in range(0, len(p.questions), n):
                group = p.questions[i : i + n]
                if limit:
                    group = group[: limit - count]
                predicted, reference = context.copy(), context.copy()
                predicted._.set(QUESTIONS_ATTR, [q.to_dict(with_answers=False) for q in group])
                reference._.set(QUESTIONS_ATTR, [q.to_dict() for q in group])
                yield Example(predicted, reference)
                count += len(group)
                if limit and count >= limit:
                    return

    return read


def split_paragraphs(
    paragraphs: Sequence[SquadParagraph], dev_fraction: float, seed: int = 0
) -> Tuple[List[SquadParagraph], List[SquadParagraph]]:
    """Split by paragraph (never by question), so no dev context is seen in training."""
    import random

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
    import random

    rng = random.Random(seed)
    by_title: Dict[str, List[int]] = collections.defaultdict(list)
    for i, p in enumerate(paragraphs):
        by_title[p.title].append(i)
    extra: Dict[int, List[SquadQuestion]] = collections.defaultdict(list)
    for i, p in enumerate(paragraphs):
        for q in p.questions:
            if not q.answers or rng.random() >= fraction:
                continue
            pool = [j for j in by_title[p.title] if j != i] or [rng.randrange(len(paragraphs))]
            j = rng.choice(pool)
            if j != i and not any(_mentions(paragraphs[j].context, t) for t, _ in q.answers):
                extra[j].append(SquadQuestion(q.id + "-neg", q.question, []))
    return [
        SquadParagraph(p.title, p.context, list(p.questions) + extra[i])
        for i, p in enumerate(paragraphs)
    ]


def _mentions(context: str, answer: str) -> bool:
    return normalize_answer(answer) in normalize_answer(context)
