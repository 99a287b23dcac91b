"""Question answering over a knowledge base: retrieve passages, read each with
the span_qa reader, rank the answers (`rank_answers`).

`QuestionAnswerer` is the one object the CLI and the Slack bot use.
"""
import math
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional, Sequence, Tuple, Union

from .reader.loading import DEFAULT_MODEL_DIR, get_span_qa, load_reader  # noqa: F401 (public here too)
from .results import Answer, Passage, QAResult, RetrievedPassage
from .retrieval.location import IndexLike, open_retriever
from .retrieval.settings import DEFAULT_COLLECTION, DEFAULT_TOP_K
from .squad.metric import normalize_answer

if TYPE_CHECKING:  # not imported here: `spanqa ask` answers without importing spaCy when it can
    from spacy.language import Language

DEFAULT_BM25_WEIGHT = 2.0  # benchmarks/end_to_end.py: F1 58.1 at 0, 58.8 at 2.0


class QuestionAnswerer:
    """Holds a retriever and a reader; answers questions with sources.

    index: any `Retriever`, or what `--index` takes: a BM25 index folder, a
        Milvus Lite `.db` path or a Milvus server URL (see `open_retriever`).
    model: see `load_reader` (None: the shipped default reader), or a loaded nlp.
    runtime: see `load_reader`.
    top_k: passages retrieved and read per question.
    no_answer_threshold: below this reader score the result is "no answer"
        (None: the reader's own setting).
    tentative_floor: a no-answer whose best span scores at least this gets it
        as `QAResult.tentative` (None: the reader's own setting; 1: never).
    bm25_weight: the weight of the retrieval score (BM25, cosine or fused, as
        the index ranks) in `rank_answers`; 0: reader only.
    collection: the Milvus collection (Milvus indexes only).
    """

    def __init__(
        self,
        index: IndexLike,
        model: Union[str, Path, "Language", None] = None,
        top_k: int = DEFAULT_TOP_K,
        no_answer_threshold: Optional[float] = None,
        bm25_weight: float = DEFAULT_BM25_WEIGHT,
        runtime: Optional[str] = None,
        collection: str = DEFAULT_COLLECTION,
        tentative_floor: Optional[float] = None,
    ):
        self.retriever = open_retriever(index, collection)
        self.nlp = load_reader(model, runtime) if model is None or isinstance(model, (str, Path)) else model
        self.reader = get_span_qa(self.nlp)
        self.top_k = top_k
        self.no_answer_threshold = (
            self.reader.cfg["no_answer_threshold"] if no_answer_threshold is None else no_answer_threshold
        )
        self.tentative_floor = self.reader.cfg["tentative_floor"] if tentative_floor is None else tentative_floor
        self.bm25_weight = bm25_weight

    def ask(self, question: str, top_k: Optional[int] = None) -> QAResult:
        return self.ask_many([question], top_k)[0]

    def ask_many(
        self, questions: Sequence[str], top_k: Optional[int] = None, batch_questions: int = 64
    ) -> List[QAResult]:
        """Retrieve for all questions at once, then read every (question,
        passage) pair in batched reader calls of `batch_questions` questions."""
        for q in questions:
            if not isinstance(q, str) or not q.strip():
                raise ValueError("Empty question: ask a question with at least one word.")
        k = top_k or self.top_k
        results: List[QAResult] = []
        for i in range(0, len(questions), batch_questions):
            chunk = list(questions[i : i + batch_questions])
            hits = self.retriever.search_many(chunk, k)
            pairs = [(p.text, q) for q, found in zip(chunk, hits) for p, _ in found]
            floor = min(self.tentative_floor, self.no_answer_threshold)
            answers = iter(self.reader.answer_pairs(pairs, no_answer_threshold=floor))
            for q, found in zip(chunk, hits):
                read = [next(answers) for _ in found]
                results.append(rank_answers(q, read, found, self.bm25_weight, self.no_answer_threshold, floor))
        return results


def rank_answers(
    question: str,
    answers: Sequence[Answer],
    hits: Sequence[Tuple[Passage, float]],
    bm25_weight: float = DEFAULT_BM25_WEIGHT,
    threshold: float = 0.0,
    tentative_floor: Optional[float] = None,
) -> QAResult:
    """The result for `question` from the reader's answer over each retrieved passage.

    answers[i] was read from hits[i] = (passage, retrieval score: BM25, cosine
    or fused, whichever the index ranks by). No-answers and answers scoring
    below `threshold` are dropped; the rest are ranked by the calibrated
    score's log-odds plus `bm25_weight * score / best score` (a share of the
    retrieval evidence), and de-duplicated (`drop_duplicates`).
    When none is left, the best of those scoring at least `tentative_floor`
    becomes the result's `tentative` answer.
    """
    top_score = max((s for _, s in hits), default=0.0) or 1.0
    scored, below = [], []
    for answer, (passage, score) in zip(answers, hits):
        if answer.no_answer:
            continue
        answer.passage = passage
        margin = _logit(answer.score) + bm25_weight * score / top_score
        if answer.score >= threshold:
            scored.append((margin, answer))
        elif tentative_floor is not None and answer.score >= tentative_floor:
            below.append((margin, answer))
    candidates = drop_duplicates([a for _, a in sorted(scored, key=lambda x: -x[0])])
    best = candidates[0] if candidates else None
    tentative = max(below, key=lambda x: x[0])[1] if below and best is None else None
    passages = [RetrievedPassage(p, float(s)) for p, s in hits]
    return QAResult(question.strip(), best, candidates[1:], passages, tentative)


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


def drop_duplicates(answers: Sequence[Answer]) -> List[Answer]:
    """Keep the first (best) of answers with the same normalised text, or
    overlapping the same characters of the same document (passages overlap
    by a sentence, so one span can be read from two of them)."""
    kept: List[Answer] = []
    for a in answers:
        start = a.passage.start_char + a.start_char
        end = a.passage.start_char + a.end_char
        dup = False
        for b in kept:
            if normalize_answer(a.text) == normalize_answer(b.text):
                dup = True
            elif a.passage.document_id == b.passage.document_id:
                b_start = b.passage.start_char + b.start_char
                b_end = b.passage.start_char + b.end_char
                dup = start < b_end and b_start < end
            if dup:
                break
        if not dup:
            kept.append(a)
    return kept
