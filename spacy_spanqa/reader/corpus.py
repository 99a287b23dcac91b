"""The spaCy corpus reader of SQuAD files, `spacy_spanqa.SquadReader.v1`, for `spacy train`."""
from pathlib import Path
from typing import Callable, Iterable, Iterator

from spacy.language import Language
from spacy.training import Example
from spacy.util import registry

from ..squad.format import read_squad
from .extensions import QUESTIONS_ATTR, ensure_extensions


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
