"""Sentence boundaries, one way for the whole package: spaCy's rule-based
sentencizer. Passages (retrieval) and generated negatives (squad) both cut here."""
import functools
from types import SimpleNamespace
from typing import TYPE_CHECKING, Iterable, Iterator, List, Tuple

if TYPE_CHECKING:  # spaCy is imported when a splitter is built: loading an index needs none
    from spacy.tokens import Doc


class SentenceSplitter:
    """`spacy.blank(lang)`'s tokenizer followed by the rule-based sentencizer: the
    same Docs as that pipeline, built without a `Language`, whose construction
    imports every installed spaCy component (spacy-transformers, so torch)."""

    def __init__(self, lang: str = "en"):
        from spacy.pipeline import Sentencizer
        from spacy.util import get_lang_class, registry
        from spacy.vocab import create_vocab

        defaults = get_lang_class(lang).Defaults
        blank = SimpleNamespace(vocab=create_vocab(lang, defaults), Defaults=defaults)  # what a tokenizer factory reads
        make_tokenizer = registry.resolve({"t": get_lang_class(lang).default_config["nlp"]["tokenizer"]})["t"]
        self.tokenizer = make_tokenizer(blank)
        self.sentencizer = Sentencizer()

    def __call__(self, text: str) -> "Doc":
        return self.sentencizer(self.tokenizer(text))

    def pipe(self, texts: Iterable[str], batch_size: int = 1000) -> Iterator["Doc"]:
        return self.sentencizer.pipe((self.tokenizer(t) for t in texts), batch_size=batch_size)


@functools.lru_cache(maxsize=None)
def sentencizer(lang: str = "en") -> SentenceSplitter:
    """The sentence splitter of `lang`, built once per process."""
    return SentenceSplitter(lang)


def sentence_spans(text: str) -> List[Tuple[int, int]]:
    """(start_char, end_char) of each sentence of `text`."""
    return [(s.start_char, s.end_char) for s in sentencizer()(text).sents]
