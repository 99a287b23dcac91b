"""SQuAD data and the tooling around it, apart from the runtime API:

    format       the question/paragraph records; read_squad, write_squad
    metric       the official EM/F1, HasAns/NoAns, and the answer-in-context test
    negatives    generated unanswerable questions (on-topic, retrieval, swap)
    splits       train/dev splits by paragraph: the recipe `spanqa split` runs
    evaluation   a reader scored on a SQuAD file; calibration of its confidence

format, metric, negatives and splits import no spaCy at module level; the
spaCy corpus reader of SQuAD files is `spacy_spanqa.reader.corpus`.
"""
from .._moved import moved
from .format import SquadParagraph, SquadQuestion, read_squad, write_squad

__all__ = ["SquadParagraph", "SquadQuestion", "read_squad", "write_squad"]

# `spacy_spanqa.squad` was one module until 0.3.
__getattr__ = moved(__name__, {
    "create_squad_reader": "spacy_spanqa.reader.corpus",
    "split_paragraphs": "spacy_spanqa.squad.splits",
    "add_unanswerable": "spacy_spanqa.squad.splits",
})
