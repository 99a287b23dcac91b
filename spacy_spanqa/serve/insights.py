"""What the bot's and the server's database says, for the people who keep the documents.

Read-only SQL (SQLAlchemy Core, so SQLite and PostgreSQL alike) over the
`answers`, `votes` and `corrections` tables of `bot.store.BotStore`. Each
section is also a CSV table (`csv_tables`).
"""
import csv
import io
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from sqlalchemy import case, func, select

from ..bot.feedback import HELPFUL, NOT_HELPFUL, VOTES
from ..bot.store import BotStore, searched_any, answers, corrections, votes
from ..retrieval.location import is_milvus_uri
from .grouping import QuestionGroup, group_questions
from .settings import WEB_CHANNEL

CONFIDENCE_BINS = 10  # histogram bins of width 0.1 over the calibrated score
MAX_GROUPS = 20  # unanswered question groups listed
MAX_DOCUMENTS = 20  # most used documents listed


@dataclass
class Day:
    day: str  # YYYY-MM-DD (UTC)
    asked: int
    answered: int

    @property
    def unknown(self) -> int:
        """Questions answered "I don't know"."""
        return self.asked - self.answered

    @property
    def answered_share(self) -> float:
        return self.answered / self.asked if self.asked else 0.0


@dataclass
class DocumentUse:
    path: str
    title: str
    url: Optional[str]
    answers: int
    helpful: int
    not_helpful: int


@dataclass
class Insights:
    """Everything the Insights page shows. `unused_documents` is None when the
    index does not list its documents (a Milvus index, or no index given)."""

    database: str
    generated_at: str
    days: List[Day]
    confidence: List[int]  # answers per score bin [i/10, (i+1)/10)
    votes: Dict[str, int]
    corrections: int
    where_asked: Dict[str, int]  # "web" or "slack" -> questions
    unanswered: List[QuestionGroup]
    documents: List[DocumentUse]
    unused_documents: Optional[List[str]] = None
    indexed_documents: Optional[int] = None
    knowledge_bases: Optional[List[str]] = field(default=None)  # the filter, if any

    @property
    def asked(self) -> int:
        return sum(d.asked for d in self.days)

    @property
    def answered(self) -> int:
        return sum(d.answered for d in self.days)


def read_insights(
    store: BotStore, documents: Optional[Sequence[str]] = None, knowledge_bases: Optional[Sequence[str]] = None
) -> Insights:
    """The insights of every answer in `store` (with `knowledge_bases`: of the
    answers that searched any of them). `documents`: the index's document paths,
    to list those no answer came from."""
    chosen = searched_any(knowledge_bases)
    day = func.substr(answers.c.created_at, 1, 10).label("day")
    answered = func.sum(case((answers.c.answer.is_not(None), 1), else_=0)).label("answered")
    helpful = func.sum(case((votes.c.vote == HELPFUL, 1), else_=0))
    not_helpful = func.sum(case((votes.c.vote == NOT_HELPFUL, 1), else_=0))
    vote_counts = select(votes.c.answer_id, helpful.label("helpful"), not_helpful.label("not_helpful")) \
        .group_by(votes.c.answer_id).subquery()
    with store.engine.connect() as conn:
        days = [Day(r.day, int(r.asked), int(r.answered or 0)) for r in conn.execute(
            select(day, func.count().label("asked"), answered).where(chosen).group_by(day).order_by(day)
        )]
        confidence = [0] * CONFIDENCE_BINS
        for (score,) in conn.execute(select(answers.c.score).where(chosen, answers.c.answer.is_not(None))):
            confidence[min(int(float(score or 0) * CONFIDENCE_BINS), CONFIDENCE_BINS - 1)] += 1
        counted = {vote: 0 for vote in VOTES}
        voted = votes.join(answers, answers.c.id == votes.c.answer_id)
        for vote, n in conn.execute(select(votes.c.vote, func.count()).select_from(voted).where(chosen).group_by(votes.c.vote)):
            counted[vote] = int(n)
        n_corrections = conn.execute(
            select(func.count()).select_from(corrections.join(answers, answers.c.id == corrections.c.answer_id)).where(chosen)
        ).scalar_one()
        web = func.sum(case((answers.c.channel == WEB_CHANNEL, 1), else_=0))
        n_web, n_all = conn.execute(select(web, func.count()).where(chosen)).one()
        unanswered = [
            (asked_text or question) for asked_text, question in conn.execute(
                select(answers.c.asked_text, answers.c.question).where(chosen, answers.c.answer.is_(None))
            )
        ]
        uses = conn.execute(
            select(
                answers.c.source_path, func.max(answers.c.source_title).label("title"),
                func.max(answers.c.source_url).label("url"), func.count().label("answers"),
                func.coalesce(func.sum(vote_counts.c.helpful), 0).label("helpful"),
                func.coalesce(func.sum(vote_counts.c.not_helpful), 0).label("not_helpful"),
            )
            .select_from(answers.outerjoin(vote_counts, vote_counts.c.answer_id == answers.c.id))
            .where(chosen, answers.c.answer.is_not(None), answers.c.source_path.is_not(None))
            .group_by(answers.c.source_path)
            .order_by(func.count().desc(), answers.c.source_path)
        ).all()
    used = [DocumentUse(r.source_path, r.title or r.source_path, r.url, int(r.answers), int(r.helpful), int(r.not_helpful))
            for r in uses]
    unused = None
    if documents is not None:
        used_paths = {d.path for d in used}
        unused = sorted(p for p in set(documents) if p not in used_paths)
    return Insights(
        database=store.name,
        generated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        days=days,
        confidence=confidence,
        votes=counted,
        corrections=int(n_corrections),
        where_asked={"slack": int(n_all or 0) - int(n_web or 0), "web": int(n_web or 0)},
        unanswered=group_questions(unanswered)[:MAX_GROUPS],
        documents=used[:MAX_DOCUMENTS],
        unused_documents=unused,
        indexed_documents=len(set(documents)) if documents is not None else None,
        knowledge_bases=list(knowledge_bases) if knowledge_bases else None,
    )


def bin_label(i: int) -> str:
    return f"{i / CONFIDENCE_BINS:.1f}-{(i + 1) / CONFIDENCE_BINS:.1f}"


Table = Tuple[List[str], List[List[object]]]


def csv_tables(insights: Insights) -> Dict[str, Table]:
    """Each section of the page as (header, rows), by the name its CSV file has."""
    tables: Dict[str, Table] = {
        "questions_per_day": (
            ["day", "asked", "answered", "i_dont_know", "answered_share"],
            [[d.day, d.asked, d.answered, d.unknown, round(d.answered_share, 4)] for d in insights.days],
        ),
        "confidence": (["score_bin", "answers"], [[bin_label(i), n] for i, n in enumerate(insights.confidence)]),
        "votes": (["vote", "count"], [*([v, n] for v, n in insights.votes.items()), ["corrections", insights.corrections]]),
        "unanswered": (
            ["question", "times_asked", "key_words", "wordings"],
            [[g.question, g.count, " ".join(sorted(g.key_words)), " | ".join(g.wordings)] for g in insights.unanswered],
        ),
        "documents": (
            ["path", "title", "url", "answers", "helpful", "not_helpful"],
            [[d.path, d.title, d.url or "", d.answers, d.helpful, d.not_helpful] for d in insights.documents],
        ),
    }
    if insights.unused_documents is not None:
        tables["unused_documents"] = (["path"], [[p] for p in insights.unused_documents])
    return tables


def to_csv(table: Table) -> str:
    header, rows = table
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def documents_in_index(index: Optional[str]) -> Optional[List[str]]:
    """The document paths (relative to the knowledge base folder) a folder index
    lists in its manifest; None for a Milvus index (listing them would scan
    every row) or a folder that holds no index."""
    if index is None or is_milvus_uri(index):
        return None
    from ..retrieval import bm25_store

    build = bm25_store.live_build(Path(index))
    if build is None:
        return None
    try:
        files = bm25_store.read_manifest(build).get("files")
    except (OSError, ValueError):
        return None
    return sorted(files) if isinstance(files, dict) else None
