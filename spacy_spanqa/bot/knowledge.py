"""The knowledge bases one bot serves, and one answer from those a question may search.

`KnowledgeBases` holds an `Answerer` per knowledge base (in the bot: a
`QuestionAnswerer` per index, all sharing one loaded reader). `ask_many` takes
each question with the names it may search, asks every knowledge base once for
all the questions allowed there, and merges each question's results
(`merge_results`): the best-scoring answer across them, every other answer as
a candidate (best first), the passages of all by retrieval score, and a
tentative answer only when none has an answer. The merged `ScopedResult`
says which knowledge bases were searched and where each passage came from,
for the audit columns of the bot's database.
"""
import logging
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

from ..results import Answer, Answerer, Passage, QAResult, RetrievedPassage
from .settings import DEFAULT_KNOWLEDGE_BASE

logger = logging.getLogger(__name__)

# What asking gives for one question: its result, or the exception asking raised.
Outcome = Union[QAResult, Exception]


@dataclass
class ScopedResult(QAResult):
    """A QAResult from the knowledge bases in `searched`; `passage_sources[i]`
    names the knowledge base of `passages[i]`, `answered_from` that of the
    answer (or of the tentative answer)."""

    searched: Tuple[str, ...] = ()
    passage_sources: List[str] = field(default_factory=list)
    answered_from: Optional[str] = None

    def source_of(self, passage: Optional[Passage]) -> Optional[str]:
        """The knowledge base a passage of this result came from."""
        if passage is None:
            return None
        for retrieved, name in zip(self.passages, self.passage_sources):
            if retrieved.passage is passage:
                return name
        for retrieved, name in zip(self.passages, self.passage_sources):
            if retrieved.passage.id == passage.id and retrieved.passage.text == passage.text:
                return name
        return self.answered_from


class KnowledgeBases:
    """Answerers by knowledge base name, in the access file's order."""

    def __init__(self, answerers: Mapping[str, Answerer]):
        if not answerers:
            raise ValueError("The bot needs at least one knowledge base.")
        self.answerers: Dict[str, Answerer] = dict(answerers)

    @classmethod
    def single(cls, answerer: Answerer, name: str = DEFAULT_KNOWLEDGE_BASE) -> "KnowledgeBases":
        return cls({name: answerer})

    @property
    def names(self) -> Tuple[str, ...]:
        return tuple(self.answerers)

    def ask_many(self, questions: Sequence[Tuple[str, Optional[Sequence[str]]]]) -> List[Outcome]:
        """One outcome per (question, knowledge base names) pair. None as the
        names means every knowledge base, and is only taken when there is one."""
        scopes = [self._scope(names) for _, names in questions]
        parts: List[List[Tuple[str, Outcome]]] = [[] for _ in questions]
        for name, answerer in self.answerers.items():
            positions = [i for i, scope in enumerate(scopes) if name in scope]
            if not positions:
                continue
            outcomes = _ask(answerer, [questions[i][0] for i in positions])
            for i, outcome in zip(positions, outcomes):
                parts[i].append((name, outcome))
        return [self._merged(text, scope, found) for (text, _), scope, found in zip(questions, scopes, parts)]

    def _scope(self, names: Optional[Sequence[str]]) -> Tuple[str, ...]:
        if names is None:
            if len(self.answerers) != 1:
                raise ValueError("With several knowledge bases every question must say which it may search.")
            return self.names
        return tuple(n for n in self.names if n in set(names))

    def _merged(self, question: str, scope: Tuple[str, ...], found: List[Tuple[str, Outcome]]) -> Outcome:
        if not scope:
            return ValueError("There is no knowledge base this question may search.")
        results = [(name, r) for name, r in found if isinstance(r, QAResult)]
        failures = [(name, e) for name, e in found if isinstance(e, Exception)]
        if not results:
            return failures[0][1]
        for name, error in failures:
            logger.error("Knowledge base %s failed on a question (%s); answering from the others", name, type(error).__name__)
        return merge_results(question, results, searched=scope)


def merge_results(question: str, results: Sequence[Tuple[str, QAResult]], searched: Sequence[str] = ()) -> ScopedResult:
    """One result from several knowledge bases' results for one question: the
    answer with the highest calibrated score (scores are comparable across
    contexts), the rest as candidates best first (one per answer text), the
    passages of all by retrieval score, and the best tentative answer when no
    knowledge base has an answer."""
    if len(results) == 1:
        name, only = results[0]
        # One knowledge base: its own ranking (calibrated score and retrieval evidence) stands.
        kept = ([(only.answer, name)] if only.answer is not None else []) + [(c, name) for c in only.candidates]
        best = kept[0] if only.answer is not None else None
    else:
        answered = [(r.answer, name) for name, r in results if r.answer is not None]
        best = max(answered, key=lambda pair: pair[0].score) if answered else None
        others = [(a, name) for a, name in answered if best is None or a is not best[0]]
        others += [(c, name) for name, r in results for c in r.candidates]
        others.sort(key=lambda pair: -pair[0].score)  # stable: ties keep the access file's order
        kept = ([best] if best else []) + others
    # One candidate per answer text (each knowledge base de-duplicated its own).
    seen = set()
    unique: List[Tuple[Answer, str]] = []
    for answer, name in kept:
        key = " ".join(answer.text.lower().split())
        if key not in seen:
            seen.add(key)
            unique.append((answer, name))
    kept = unique
    tentative: Optional[Tuple[Answer, str]] = None
    if best is None:
        tentatives = [(r.tentative, name) for name, r in results if r.tentative is not None]
        tentative = max(tentatives, key=lambda pair: pair[0].score) if tentatives else None
    passages: List[Tuple[RetrievedPassage, str]] = [(p, name) for name, r in results for p in r.passages]
    if len(results) > 1:
        passages.sort(key=lambda pair: -pair[0].bm25_score)
    text = results[0][1].question if results else question
    return ScopedResult(
        question=text,
        answer=best[0] if best else None,
        candidates=[a for a, _ in kept[1:]] if best else [],
        passages=[p for p, _ in passages],
        tentative=tentative[0] if tentative else None,
        searched=tuple(searched) or tuple(name for name, _ in results),
        passage_sources=[name for _, name in passages],
        answered_from=best[1] if best else (tentative[1] if tentative else None),
    )


def _ask(answerer: Answerer, questions: List[str]) -> List[Outcome]:
    """Ask in one `ask_many` call; when it fails, one by one so only the bad question fails."""
    if len(questions) > 1:
        try:
            results = list(answerer.ask_many(questions))
            if len(results) == len(questions):
                return results
            logger.error("ask_many returned %d results for %d questions", len(results), len(questions))
        except Exception:
            logger.warning("Batched answering failed; asking the %d questions one by one", len(questions))
    outcomes: List[Outcome] = []
    for question in questions:
        try:
            outcomes.append(answerer.ask(question))
        except Exception as error:  # delivered to the callback, which replies politely
            outcomes.append(error)
    return outcomes
