"""Sentence boundaries, one way for the whole package: spaCy's rule-based
sentencizer. Passages (retrieval) and generated negatives (squad) both cut here."""
import functools
from typing import List, Tuple

from spacy.language import Language


@functools.lru_cache(maxsize=None)
def sentencizer(lang: str = "en") -> Language:
    """A blank pipeline of `lang` (its tokenizer) with the rule-based sentencizer, built once per process."""
    import spacy

    nlp = spacy.blank(lang)
    nlp.add_pipe("sentencizer")
    return nlp


def sentence_spans(text: str) -> List[Tuple[int, int]]:
    """(start_char, end_char) of each sentence of `text`."""
    return [(s.start_char, s.end_char) for s in sentencizer()(text).sents]
