"""Stand-ins for the answerer: a `FakeAnswerer` that returns real
`spacy_spanqa.results.QAResult`s from a few handbook passages, without a model."""
import threading
import time
from typing import List, Optional

from spacy_spanqa.results import Answer, Passage, QAResult, RetrievedPassage


def passage(id: str, text: str, title: str, path: str, url: Optional[str] = None) -> Passage:
    """A whole-document passage (offsets 0..len(text))."""
    return Passage(id=id, text=text, title=title, path=path, url=url, start_char=0, end_char=len(text))


LEAVE = passage(
    "leave.md#0",
    "Leave & holidays: employees get 25 days of paid vacation per year. Unused days <up to 5> carry over.",
    "Leave policy",
    "handbook/leave.md",
)
EXPENSES = passage(
    "expenses.md#0",
    "Expenses above 100 EUR need a manager's approval before purchase.",
    "Expenses",
    "handbook/expenses.md",
    url="https://wiki.example.com/expenses",
)
OFFICES = passage(
    "offices.txt#0",
    "Northwind Labs also has offices in Lisbon and Toronto. The Lisbon office opened in 2021 and the Toronto office opened in 2023.",
    "Northwind Labs offices",
    "handbook/offices.txt",
)
TRAVEL = passage(
    "expenses.md#1",
    "Flights shorter than six hours are booked in economy class. The daily meal allowance on business trips is 40 euros.",
    "Travel and expenses",
    "handbook/expenses.md",
)
SALARY = passage(
    "salary.md#0",
    "Salary bands: engineers at level 3 earn 70,000 to 85,000 EUR a year; level 4 earns 85,000 to 100,000 EUR.",
    "Salary bands",
    "hr/salary.md",
)
# (words that must all be in the question, the passage, the answer): a stand-in for retrieval + reading.
FAKE_KNOWLEDGE = [
    (("vacation",), LEAVE, "25 days"),
    (("toronto", "office"), OFFICES, "2023"),
    (("lisbon", "office"), OFFICES, "2021"),
    (("meal", "allowance"), TRAVEL, "40 euros"),
]
# A restricted knowledge base's: salary questions answered from SALARY.
HR_KNOWLEDGE = [(("salary",), SALARY, "70,000 to 85,000 EUR")]


class FakeAnswerer:
    """Answers from FAKE_KNOWLEDGE (e.g. "vacation" questions from LEAVE),
    knows nothing else; a question containing "explode" raises RuntimeError,
    "slow" sleeps `slow_seconds`. An `Answerer`, as `QuestionAnswerer` is."""

    def __init__(self, slow_seconds: float = 0.0, knowledge=None, unknown=None, score: float = 0.87, tentative=None):
        self.asked: List[str] = []
        self.slow_seconds = slow_seconds
        self.knowledge = FAKE_KNOWLEDGE if knowledge is None else knowledge
        self.unknown = [LEAVE, EXPENSES] if unknown is None else unknown  # passages read for what it does not know
        self.score = score
        self.tentative = tentative  # (words, passage, text, score): a no-answer with this tentative answer
        self._lock = threading.Lock()

    def ask(self, question: str, top_k: Optional[int] = None) -> QAResult:
        with self._lock:
            self.asked.append(question)
        if not question.strip():
            raise ValueError("Empty question: ask a question with at least one word.")
        if "explode" in question:
            raise RuntimeError("reader crashed")
        if "slow" in question:
            time.sleep(self.slow_seconds)
        lowered = question.lower()
        for words, source, text in self.knowledge:
            if all(w in lowered for w in words):
                start = source.text.index(text)
                answer = Answer(question, text, self.score, start, start + len(text), passage=source)
                others = [RetrievedPassage(p, 1.2) for p in self.unknown + [OFFICES] if p is not source]
                return QAResult(question, answer, [], [RetrievedPassage(source, 7.5)] + others)
        passages = [RetrievedPassage(p, 7.5 if i == 0 else 1.2) for i, p in enumerate(self.unknown)]
        if self.tentative and all(w in lowered for w in self.tentative[0]):
            _, source, text, score = self.tentative
            start = source.text.index(text)
            guess = Answer(question, text, score, start, start + len(text), passage=source)
            return QAResult(question, None, [], [RetrievedPassage(source, 3.0)] + passages, tentative=guess)
        return QAResult(question, None, [], passages)

    def ask_many(self, questions: List[str], top_k: Optional[int] = None) -> List[QAResult]:
        return [self.ask(q, top_k) for q in questions]
