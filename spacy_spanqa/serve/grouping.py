"""Unanswered questions that ask the same thing, grouped so the most frequent gaps show first.

Explainable on purpose: a question's *key words* are its lower-cased words
without punctuation, stopwords or a plural "s". Two questions are grouped when
their key words overlap by at least `MIN_OVERLAP` (Jaccard: shared / all).
Questions are taken most frequent first; each joins the first group whose
first question it overlaps enough with, else starts a group.
"""
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import FrozenSet, Iterable, List

MIN_OVERLAP = 0.5
STOPWORDS = frozenset(
    "a an the is are was were be been do does did i we you he she it they my our your their me us "
    "what which who whom whose when where why how can could should would will shall may might must "
    "of in on at to for from by with about as into than then there this that these those and or "
    "if so not no any some much many get got have has had please tell know".split()
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def key_words(question: str) -> FrozenSet[str]:
    """Lower-cased words, no stopwords, a trailing plural "s" dropped ("days" -> "day")."""
    words = []
    for word in _WORD.findall(question.lower()):
        if word in STOPWORDS:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        words.append(word)
    return frozenset(words)


def normalised(question: str) -> str:
    """The question as compared for "the same text": lower case, single spaces, no end punctuation."""
    return " ".join(_WORD.findall(question.lower()))


def overlap(a: FrozenSet[str], b: FrozenSet[str]) -> float:
    """Jaccard overlap of two sets of key words (0: none shared; 1: the same)."""
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


@dataclass
class QuestionGroup:
    """Questions asking the same thing: `question` is the most asked wording, `count` all asks."""

    question: str
    count: int
    key_words: FrozenSet[str]
    wordings: List[str] = field(default_factory=list)  # the distinct wordings, most asked first


def group_questions(questions: Iterable[str], min_overlap: float = MIN_OVERLAP) -> List[QuestionGroup]:
    """Groups of questions (each asked once per item), biggest first."""
    by_text: Counter = Counter()
    first_wording = {}
    for question in questions:
        key = normalised(question)
        if not key:
            continue
        by_text[key] += 1
        first_wording.setdefault(key, question.strip())
    groups: List[QuestionGroup] = []
    for key, count in sorted(by_text.items(), key=lambda kv: (-kv[1], kv[0])):
        words = key_words(key)
        home = next((g for g in groups if overlap(words, g.key_words) >= min_overlap), None)
        if home is None:
            groups.append(QuestionGroup(first_wording[key], count, words, [first_wording[key]]))
        else:
            home.count += count
            home.wordings.append(first_wording[key])
    groups.sort(key=lambda g: -g.count)  # stable: ties keep first-seen order
    return groups
