"""SQuAD v1.1/v2.0 files: the question and paragraph records, reading (with
checks and re-anchored offsets) and writing. No spaCy here."""
import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Sequence, Tuple


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
    """Write paragraphs as a SQuAD JSON file (see `squad_json`)."""
    Path(path).write_text(json.dumps(squad_json(paragraphs, version), ensure_ascii=False), encoding="utf8")


def squad_json(paragraphs: Sequence[SquadParagraph], version: str = "v2.0") -> dict:
    """Paragraphs as SQuAD JSON, in their order: a run of paragraphs with one title is one article."""
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
    return {"version": version, "data": data}
