"""SQuAD questions as spaCy data: Docs that carry their questions
(`doc_with_questions`, the one place such Docs are made) and the corpus
reader `spacy_spanqa.SquadReader.v1` that `spacy train` uses."""
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import registry

from ..squad.format import SquadQuestion, read_squad
from .extensions import QUESTIONS_ATTR, ensure_extensions


def doc_with_questions(context: Doc, questions: Sequence[SquadQuestion], with_answers: bool) -> Doc:
    """A copy of the context's Doc with the questions on `doc._.qa_questions`,
    with their gold answers (a reference Doc) or without (a Doc to predict on)."""
    ensure_extensions()
    doc = context.copy()
    doc._.set(QUESTIONS_ATTR, [q.to_dict(with_answers=with_answers) for q in questions])
    return doc


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
        count = 0
        for p in read_squad(path):
            n = questions_per_example or max(1, len(p.questions))
            context = nlp.make_doc(p.context)  # tokenised once, copied per Example
            for i in range(0, len(p.questions), n):
                group = p.questions[i : i + n]
                if limit:
                    group = group[: limit - count]
                yield Example(doc_with_questions(context, group, False), doc_with_questions(context, group, True))
                count += len(group)
                if limit and count >= limit:
                    return

    return read
