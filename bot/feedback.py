"""SQLite storage for the answers the bot posted and the votes users gave them.

One file, by default `feedback.sqlite` next to the index. The `answers` table
also tells which threads the bot answered in, so follow-up questions in those
threads are answered after a restart too.
"""
import sqlite3
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from .blocks import HELPFUL, NOT_HELPFUL, VOTES

SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT,              -- NULL: the bot said it found no answer
    score REAL,
    source_title TEXT,
    source_path TEXT,
    source_url TEXT,
    channel TEXT,
    thread_ts TEXT,
    asked_by TEXT
);
CREATE INDEX IF NOT EXISTS answers_by_thread ON answers (channel, thread_ts);
CREATE TABLE IF NOT EXISTS votes (
    answer_id TEXT NOT NULL,
    user TEXT NOT NULL,
    vote TEXT NOT NULL CHECK (vote IN ('helpful', 'not_helpful')),
    created_at TEXT NOT NULL,
    PRIMARY KEY (answer_id, user)
);
"""


def default_feedback_path(index_path: Union[str, Path]) -> Path:
    """`feedback.sqlite` in the folder that holds the index."""
    return Path(index_path).resolve().parent / "feedback.sqlite"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class FeedbackStore:
    """Thread-safe: one connection, serialised by a lock (the bot writes a row
    per answer and per click, far below what SQLite takes)."""

    def __init__(self, path: Union[str, Path]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")  # `python -m bot feedback` can read while the bot writes
            self._db.executescript(SCHEMA)

    @classmethod
    def open_existing(cls, path: Union[str, Path]) -> "FeedbackStore":
        if not Path(path).is_file():
            raise ValueError(f"There is no feedback database at {path}; the bot creates it when it first answers.")
        return cls(path)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _run(self, sql: str, params: tuple = ()) -> List[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # -- writing -----------------------------------------------------------

    def record_answer(
        self,
        result: Any,
        *,
        channel: Optional[str],
        thread_ts: Optional[str],
        asked_by: Optional[str],
    ) -> str:
        """Store a posted answer (or no-answer); returns its id for the feedback buttons."""
        answer_id = uuid.uuid4().hex
        answer = result.answer
        passage = answer.passage if answer is not None else None
        self._run(
            "INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                answer_id,
                _now(),
                result.question,
                answer.text if answer is not None else None,
                float(answer.score) if answer is not None else None,
                getattr(passage, "title", None),
                getattr(passage, "path", None),
                getattr(passage, "url", None),
                channel,
                thread_ts,
                asked_by,
            ),
        )
        return answer_id

    def set_thread(self, answer_id: str, channel: str, thread_ts: str) -> None:
        """Attach an answer to the thread its message started (for /ask answers)."""
        self._run("UPDATE answers SET channel = ?, thread_ts = ? WHERE id = ?", (channel, thread_ts, answer_id))

    def record_vote(self, answer_id: str, user: str, vote: str) -> None:
        """One vote per user and answer: voting again replaces the earlier vote."""
        if vote not in VOTES:
            raise ValueError(f"Unknown vote {vote!r}; expected one of {', '.join(VOTES)}.")
        self._run(
            "INSERT INTO votes VALUES (?, ?, ?, ?) "
            "ON CONFLICT (answer_id, user) DO UPDATE SET vote = excluded.vote, created_at = excluded.created_at",
            (answer_id, user, vote, _now()),
        )

    # -- reading -----------------------------------------------------------

    def answered_in_thread(self, channel: str, thread_ts: str) -> bool:
        rows = self._run("SELECT 1 FROM answers WHERE channel = ? AND thread_ts = ? LIMIT 1", (channel, thread_ts))
        return bool(rows)

    def summary(self, worst: int = 10) -> Dict[str, Any]:
        """Counts per vote, and the answers with the most net "not helpful" votes."""
        answers = self._run("SELECT COUNT(*) AS n FROM answers")[0]["n"]
        no_answers = self._run("SELECT COUNT(*) AS n FROM answers WHERE answer IS NULL")[0]["n"]
        counts = {vote: 0 for vote in VOTES}
        for row in self._run("SELECT vote, COUNT(*) AS n FROM votes GROUP BY vote"):
            counts[row["vote"]] = row["n"]
        rows = self._run(
            """
            SELECT v.answer_id,
                   SUM(v.vote = 'helpful') AS helpful,
                   SUM(v.vote = 'not_helpful') AS not_helpful,
                   a.question, a.answer, a.score, a.source_title, a.source_path, a.source_url, a.created_at
            FROM votes v LEFT JOIN answers a ON a.id = v.answer_id
            GROUP BY v.answer_id
            HAVING not_helpful > 0
            ORDER BY not_helpful - helpful DESC, not_helpful DESC, a.created_at DESC
            LIMIT ?
            """,
            (worst,),
        )
        return {
            "database": str(self.path),
            "answers": answers,
            "no_answers": no_answers,
            "votes": counts,
            "worst_rated": [dict(row) for row in rows],
        }


def format_summary(summary: Dict[str, Any]) -> str:
    """The summary as text for a terminal."""
    counts = summary["votes"]
    total = sum(counts.values())
    lines = [
        f"Feedback in {summary['database']}",
        f"  answers posted: {summary['answers']} ({summary['no_answers']} without an answer)",
        f"  votes:          {total}",
    ]
    for vote, label in ((HELPFUL, "helpful"), (NOT_HELPFUL, "not helpful")):
        share = f" ({counts[vote] / total:.0%})" if total else ""
        lines.append(f"    {label + ':':<13} {counts[vote]}{share}")
    worst = summary["worst_rated"]
    if worst:
        lines.append("")
        lines.append("Worst-rated answers (not helpful minus helpful, highest first):")
        for row in worst:
            answer = row["answer"] if row["answer"] is not None else "(no answer)"
            if row["question"] is None:
                answer = "(answer not in this database)"
            source = row["source_title"] or row["source_path"] or row["source_url"] or "-"
            lines.append(
                f"  {row['not_helpful']} not helpful / {row['helpful']} helpful"
                f"  Q: {row['question'] or '?'}  A: {answer}  Source: {source}"
            )
    elif total:
        lines.append("")
        lines.append("No answer was voted not helpful.")
    return "\n".join(lines)
