"""Moved to `spacy_spanqa.squad.negatives` in 0.3; importing names from here warns, and the path goes away in 0.4."""
from ._moved import moved

__getattr__ = moved(__name__, {"*": "spacy_spanqa.squad.negatives"})
