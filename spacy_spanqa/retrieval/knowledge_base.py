"""Split in 0.3 into `retrieval.documents` (reading the folder) and `retrieval.passages`
(cutting documents into passages); names imported from here warn, and the path goes away in 0.4."""
from .._moved import moved

NEW_HOMES = {
    "split_passages": "spacy_spanqa.retrieval.passages",
    "passages_from_folder": "spacy_spanqa.retrieval.passages",
    "MAX_CHUNK_CHARS": "spacy_spanqa.retrieval.passages",
    "PARAGRAPH_BREAK": "spacy_spanqa.retrieval.passages",
    "WORD": "spacy_spanqa.retrieval.passages",
    "Passage": "spacy_spanqa.results",
    "*": "spacy_spanqa.retrieval.documents",
}

__getattr__ = moved(__name__, NEW_HOMES)
