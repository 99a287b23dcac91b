"""Moved in 0.3: the SQuAD metric to `spacy_spanqa.squad.metric`, the spaCy scorer
to `spacy_spanqa.reader.scorer`; names imported from here warn, and the path goes away in 0.4."""
from .._moved import moved

__getattr__ = moved(__name__, {
    "make_qa_scorer": "spacy_spanqa.reader.scorer",
    "score_qa": "spacy_spanqa.reader.scorer",
    "*": "spacy_spanqa.squad.metric",
})
