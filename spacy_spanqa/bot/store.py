"""The bot's database: answers, votes, corrections, thread context and event claims.

One database URL, shared by every replica of the bot: a SQLite file (the
default, `feedback.sqlite` next to the index; replicas on one host) or
PostgreSQL (`postgresql://user@host/db`; replicas on several hosts). Tables are
SQLAlchemy Core, so the same statements run on both.

- `answers` / `votes` / `corrections`: what was posted and what users said
  about it, with the passages read, so feedback can become SQuAD training data.
  Each answer records the knowledge base(s) it searched (`knowledge_bases`, a
  JSON list), the one its answer came from (`answered_from`) and each passage's
  (`passages[i].knowledge_base`): the audit trail, and what the report and the
  export filter on.
- `turns`: the questions asked in each thread (and DM), so a follow-up is read
  with the thread's earlier question even after a restart or on another replica.
- `claims`: one row per Slack event id and per message, inserted by the first
  replica that takes it; the others see the row and skip.
"""
import json
import logging
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    case,
    create_engine,
    event,
    func,
    inspect,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from ..results import Passage, QAResult
from .feedback import VOTES
from .settings import DEFAULT_KNOWLEDGE_BASE

logger = logging.getLogger(__name__)

metadata = MetaData()

answers = Table(
    "answers",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("created_at", String(32), nullable=False),
    Column("question", Text, nullable=False),  # as the reader read it (follow-ups with their context)
    Column("answer", Text),  # NULL: the bot said it found no answer
    Column("score", Float),
    Column("source_title", Text),
    Column("source_path", Text),
    Column("source_url", Text),
    Column("channel", String(64)),
    Column("thread_ts", String(64)),
    Column("asked_by", String(64)),
    Column("asked_text", Text),  # as the user typed it
    Column("passages", Text),  # JSON: the retrieved passages, in rank order
    Column("passage_index", Integer),  # which of them holds the answer
    Column("answer_start", Integer),  # character offsets of the answer in that passage
    Column("answer_end", Integer),
    Column("knowledge_bases", Text),  # JSON list: the knowledge bases searched (NULL: before audiences, "default")
    Column("answered_from", String(64)),  # the knowledge base of the answer (or of the tentative one)
    Index("answers_by_thread", "channel", "thread_ts"),
)

votes = Table(
    "votes",
    metadata,
    Column("answer_id", String(32), primary_key=True),
    Column("user", String(64), primary_key=True),
    Column("vote", String(16), nullable=False),
    Column("created_at", String(32), nullable=False),
)

corrections = Table(
    "corrections",
    metadata,
    Column("answer_id", String(32), primary_key=True),
    Column("user", String(64), primary_key=True),
    Column("text", Text),  # what the user said the answer is (NULL with no_answer)
    Column("no_answer", Boolean, nullable=False, default=False),  # "the documents don't answer this"
    Column("passage_index", Integer),  # where the text was found; NULL: in none of the passages read
    Column("answer_start", Integer),
    Column("created_at", String(32), nullable=False),
)

turns = Table(
    "turns",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(64), nullable=False),
    Column("thread_ts", String(64), nullable=False),  # "" for a DM's top level
    Column("asked_at", Float, nullable=False),
    Column("text", Text, nullable=False),  # as typed
    Column("question", Text, nullable=False),  # as read, with its context
    Index("turns_by_thread", "channel", "thread_ts", "id"),
)

claims = Table(
    "claims",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("claimed_at", Float, nullable=False),
)

# Columns added to `answers` after the first release: added to older files on open.
_LATER_ANSWER_COLUMNS = (
    "asked_text", "passages", "passage_index", "answer_start", "answer_end", "knowledge_bases", "answered_from",
)
CLAIM_TTL_SECONDS = 24 * 3600  # Slack retries for about five minutes; keep claims a day
_PURGE_EVERY = 500


class DatabaseError(ValueError):
    """The database URL is malformed or unreachable; the message is one sentence for the user."""


def default_database_path(index_path: Union[str, Path]) -> Path:
    """`feedback.sqlite` in the folder that holds the index."""
    return Path(index_path).resolve().parent / "feedback.sqlite"


def database_url(where: Union[str, Path]) -> str:
    """A SQLAlchemy URL for a file path or a URL; `postgresql://` URLs use psycopg 3."""
    where = str(where)
    if "://" not in where:
        return "sqlite:///" + str(Path(where).expanduser().resolve())
    for prefix in ("postgresql://", "postgres://"):
        if where.startswith(prefix):
            return "postgresql+psycopg://" + where[len(prefix):]
    return where


def shown_url(url: str) -> str:
    """The URL with any password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class BotStore:
    """Thread-safe (a connection pool); safe to share between processes and hosts."""

    def __init__(self, where: Union[str, Path]):
        self.url = database_url(where)
        self.path = Path(make_url(self.url).database) if self.url.startswith("sqlite") else None
        try:
            self.engine = _create_engine(self.url)
        except (ArgumentError, ImportError, ValueError) as error:
            raise DatabaseError(
                f"Cannot use the database {shown_url(self.url)} ({error}); pass a SQLite file path "
                "or a URL like postgresql://user:password@host:5432/dbname."
            ) from None
        try:
            self._create_tables_once_at_a_time()
        except SQLAlchemyError as error:
            self.engine.dispose()
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
            raise DatabaseError(
                f"Cannot open the database {shown_url(self.url)} ({reason}); check that it is running "
                "and reachable, or pass another --database."
            ) from None
        self._claims_since_purge = 0
        self._purge_lock = threading.Lock()

    @classmethod
    def open_existing(cls, where: Union[str, Path]) -> "BotStore":
        url = database_url(where)
        if url.startswith("sqlite") and not Path(make_url(url).database or "").is_file():
            raise DatabaseError(f"There is no feedback database at {where}; the bot creates it when it first answers.")
        return cls(where)

    def close(self) -> None:
        self.engine.dispose()

    @property
    def name(self) -> str:
        return str(self.path) if self.path else shown_url(self.url)

    def _create_tables_once_at_a_time(self) -> None:
        # Replicas on one SQLite file may create the same table at once: the
        # loser's CREATE fails, and on a second look the tables are there.
        for attempt in range(3):
            try:
                return self._create_tables()
            except SQLAlchemyError as error:
                if attempt == 2 or not any(s in str(error) for s in ("already exists", "duplicate column")):
                    raise
                time.sleep(0.2)

    def _create_tables(self) -> None:
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Replicas starting together would race on CREATE TABLE: one at a time.
                conn.execute(text("SELECT pg_advisory_xact_lock(726175)"))
            metadata.create_all(conn)
            present = {c["name"] for c in inspect(conn).get_columns("answers")}
            for name in _LATER_ANSWER_COLUMNS:
                if name not in present:
                    column = answers.c[name]
                    kind = column.type.compile(dialect=conn.dialect)
                    conn.execute(text(f"ALTER TABLE answers ADD COLUMN {name} {kind}"))

    # -- claims (one replica answers each event) -------------------------------------

    def claim(self, key: str) -> bool:
        """True for the first caller with `key` in any process sharing the database."""
        now = time.time()
        with self.engine.begin() as conn:
            statement = _insert_ignoring_duplicates(conn, claims, {"key": key[:255], "claimed_at": now})
            # RETURNING tells whether this insert made the row (rowcount is not reliable across drivers).
            won = conn.execute(statement.returning(claims.c.key)).first() is not None
        self._maybe_purge(now)
        return won

    def _maybe_purge(self, now: float) -> None:
        with self._purge_lock:
            self._claims_since_purge += 1
            if self._claims_since_purge < _PURGE_EVERY:
                return
            self._claims_since_purge = 0
        with self.engine.begin() as conn:
            conn.execute(claims.delete().where(claims.c.claimed_at < now - CLAIM_TTL_SECONDS))

    # -- answers and votes -----------------------------------------------------------

    def record_answer(
        self,
        result: QAResult,
        *,
        channel: Optional[str],
        thread_ts: Optional[str],
        asked_by: Optional[str],
        asked_text: Optional[str] = None,
        knowledge_bases: Sequence[str] = (DEFAULT_KNOWLEDGE_BASE,),
        passage_sources: Optional[Sequence[str]] = None,
        answered_from: Optional[str] = None,
    ) -> str:
        """Store a posted answer (or no-answer) with the passages read and the
        knowledge bases searched (`passage_sources[i]`: that of passage i;
        default: the first searched); returns its id for the feedback buttons."""
        answer_id = uuid.uuid4().hex
        answer = result.answer
        passage = answer.passage if answer is not None else None
        read = [r.passage for r in result.passages]
        sources = list(passage_sources or [])
        sources += [knowledge_bases[0] if knowledge_bases else DEFAULT_KNOWLEDGE_BASE] * (len(read) - len(sources))
        index = _index_of(passage, read) if passage is not None else None
        if passage is not None and index is None:
            read.append(passage)
            sources.append(answered_from or (knowledge_bases[0] if knowledge_bases else DEFAULT_KNOWLEDGE_BASE))
            index = len(read) - 1
        row = {
            "id": answer_id,
            "created_at": _now(),
            "question": result.question,
            "answer": answer.text if answer is not None else None,
            "score": float(answer.score) if answer is not None else None,
            "source_title": passage.title if passage is not None else None,
            "source_path": passage.path if passage is not None else None,
            "source_url": passage.url if passage is not None else None,
            "channel": channel,
            "thread_ts": thread_ts,
            "asked_by": asked_by,
            "asked_text": asked_text,
            "passages": json.dumps([_passage_dict(p, kb) for p, kb in zip(read, sources)]),
            "passage_index": index,
            "answer_start": int(answer.start_char) if answer is not None else None,
            "answer_end": int(answer.end_char) if answer is not None else None,
            "knowledge_bases": json.dumps(list(knowledge_bases)),
            "answered_from": answered_from if answered_from is not None else (
                (knowledge_bases[0] if len(knowledge_bases) == 1 else None) if answer is not None else None
            ),
        }
        with self.engine.begin() as conn:
            conn.execute(answers.insert().values(**row))
        return answer_id

    def set_thread(self, answer_id: str, channel: str, thread_ts: str) -> None:
        """Attach an answer to the thread its message started (for /ask answers)."""
        with self.engine.begin() as conn:
            conn.execute(answers.update().where(answers.c.id == answer_id).values(channel=channel, thread_ts=thread_ts))

    def record_vote(self, answer_id: str, user: str, vote: str) -> None:
        """One vote per user and answer: voting again replaces the earlier vote."""
        if vote not in VOTES:
            raise ValueError(f"Unknown vote {vote!r}; expected one of {', '.join(VOTES)}.")
        with self.engine.begin() as conn:
            conn.execute(
                _upsert(conn, votes, {"answer_id": answer_id, "user": user, "vote": vote, "created_at": _now()},
                        keys=("answer_id", "user"))
            )

    def record_correction(
        self,
        answer_id: str,
        user: str,
        *,
        text: Optional[str],
        no_answer: bool = False,
        passage_index: Optional[int] = None,
        answer_start: Optional[int] = None,
    ) -> None:
        """The answer a user gave after "not helpful" (one per user and answer)."""
        values = {
            "answer_id": answer_id,
            "user": user,
            "text": text,
            "no_answer": bool(no_answer),
            "passage_index": passage_index,
            "answer_start": answer_start,
            "created_at": _now(),
        }
        with self.engine.begin() as conn:
            conn.execute(_upsert(conn, corrections, values, keys=("answer_id", "user")))

    # -- reading -----------------------------------------------------------------

    def answer(self, answer_id: str) -> Optional[Dict[str, Any]]:
        """The stored answer with its passages decoded, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(answers).where(answers.c.id == answer_id)).mappings().first()
        return _decoded(row) if row is not None else None

    def note_asked(self, channel: str, thread_ts: str) -> None:
        """Mark a thread as asked in the moment a mention arrives (before Slack
        gets its 200), so a follow-up sent at once is taken even while the
        mention's own listener has not yet run."""
        self.claim(f"asked:{channel}:{thread_ts}")

    def asked_in_thread(self, channel: str, thread_ts: str) -> bool:
        """True once the bot was asked in the thread (its answer may still be on the way)."""
        query = select(turns.c.id).where(turns.c.channel == channel, turns.c.thread_ts == thread_ts).limit(1)
        noted = select(claims.c.key).where(claims.c.key == f"asked:{channel}:{thread_ts}"[:255])
        with self.engine.connect() as conn:
            if conn.execute(query).first() is not None or conn.execute(noted).first() is not None:
                return True
        return self.answered_in_thread(channel, thread_ts)  # answered before the bot kept turns

    def answered_in_thread(self, channel: str, thread_ts: str) -> bool:
        query = select(answers.c.id).where(answers.c.channel == channel, answers.c.thread_ts == thread_ts).limit(1)
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def training_rows(self, knowledge_bases: Optional[Sequence[str]] = None) -> List[Dict[str, Any]]:
        """Every answer that got a vote or a correction, with its vote counts and
        its corrections (newest first), for `feedback.squad_training_data`.
        knowledge_bases: only answers whose every passage read came from these
        (so an export for one audience holds no text of another)."""
        helpful = func.sum(case((votes.c.vote == "helpful", 1), else_=0)).label("helpful")
        not_helpful = func.sum(case((votes.c.vote == "not_helpful", 1), else_=0)).label("not_helpful")
        counts = select(votes.c.answer_id, helpful, not_helpful).group_by(votes.c.answer_id).subquery()
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(answers, counts.c.helpful, counts.c.not_helpful)
                .select_from(answers.outerjoin(counts, counts.c.answer_id == answers.c.id))
                .order_by(answers.c.created_at, answers.c.id)
            ).mappings().all()
            fixes: Dict[str, List[Dict[str, Any]]] = {}
            for fix in conn.execute(select(corrections).order_by(corrections.c.created_at.desc())).mappings():
                fixes.setdefault(fix["answer_id"], []).append(dict(fix))
        out = []
        for row in rows:
            if not row["helpful"] and not row["not_helpful"] and row["id"] not in fixes:
                continue
            item = _decoded(row)
            if knowledge_bases is not None and not _only_from(item, knowledge_bases):
                continue
            item["helpful"] = int(row["helpful"] or 0)
            item["not_helpful"] = int(row["not_helpful"] or 0)
            item["corrections"] = fixes.get(row["id"], [])
            out.append(item)
        return out

    def summary(self, worst: int = 10, knowledge_bases: Optional[Sequence[str]] = None) -> Dict[str, Any]:
        """Counts per vote, and the answers with the most net "not helpful" votes.
        knowledge_bases: only answers that searched any of these."""
        helpful = func.sum(case((votes.c.vote == "helpful", 1), else_=0))
        not_helpful = func.sum(case((votes.c.vote == "not_helpful", 1), else_=0))
        chosen = searched_any(knowledge_bases)
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(answers).where(chosen)).scalar_one()
            no_answers = conn.execute(
                select(func.count()).select_from(answers).where(answers.c.answer.is_(None), chosen)
            ).scalar_one()
            counts = {vote: 0 for vote in VOTES}
            voted = votes.outerjoin(answers, answers.c.id == votes.c.answer_id)
            for vote, n in conn.execute(select(votes.c.vote, func.count()).select_from(voted).where(chosen).group_by(votes.c.vote)):
                counts[vote] = n
            n_corrections = conn.execute(
                select(func.count()).select_from(corrections.outerjoin(answers, answers.c.id == corrections.c.answer_id)).where(chosen)
            ).scalar_one()
            by_knowledge_base: Dict[str, int] = {}
            for (searched,) in conn.execute(select(answers.c.knowledge_bases).where(chosen)):
                for name in _names(searched):
                    by_knowledge_base[name] = by_knowledge_base.get(name, 0) + 1
            worst_rows = conn.execute(
                select(
                    votes.c.answer_id,
                    helpful.label("helpful"),
                    not_helpful.label("not_helpful"),
                    answers.c.question, answers.c.answer, answers.c.score, answers.c.source_title,
                    answers.c.source_path, answers.c.source_url, answers.c.created_at,
                )
                .select_from(votes.outerjoin(answers, answers.c.id == votes.c.answer_id))
                .where(chosen)
                .group_by(
                    votes.c.answer_id, answers.c.question, answers.c.answer, answers.c.score, answers.c.source_title,
                    answers.c.source_path, answers.c.source_url, answers.c.created_at,
                )
                .having(not_helpful > 0)
                .order_by((not_helpful - helpful).desc(), not_helpful.desc(), answers.c.created_at.desc())
                .limit(worst)
            ).mappings().all()
        return {
            "database": self.name,
            "answers": total,
            "no_answers": no_answers,
            "votes": counts,
            "corrections": n_corrections,
            "knowledge_bases": dict(sorted(by_knowledge_base.items())),
            "worst_rated": [{**dict(r), "helpful": int(r["helpful"]), "not_helpful": int(r["not_helpful"])} for r in worst_rows],
        }

    # -- thread context ----------------------------------------------------------------

    def add_turn(self, channel: str, thread_ts: Optional[str], text: str, question: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                turns.insert().values(channel=channel, thread_ts=thread_ts or "", asked_at=time.time(), text=text, question=question)
            )

    def recent_turns(self, channel: str, thread_ts: Optional[str], limit: int = 3, since: Optional[float] = None) -> List[Dict[str, Any]]:
        """The thread's last `limit` questions, oldest first (`since`: asked after this epoch time)."""
        query = select(turns.c.text, turns.c.question, turns.c.asked_at).where(
            turns.c.channel == channel, turns.c.thread_ts == (thread_ts or "")
        )
        if since is not None:
            query = query.where(turns.c.asked_at >= since)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(turns.c.id.desc()).limit(limit)).mappings().all()
        return [dict(r) for r in reversed(rows)]


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_settings(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # readers (the feedback report) do not block the bot
            cursor.execute("PRAGMA busy_timeout=30000")  # replicas on one host wait for each other's writes
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _dialect_insert(conn, table: Table):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise DatabaseError(f"The bot stores data in SQLite or PostgreSQL, not {conn.dialect.name}.")
    return insert(table)


def _insert_ignoring_duplicates(conn, table: Table, values: Dict[str, Any]):
    return _dialect_insert(conn, table).values(**values).on_conflict_do_nothing()


def _upsert(conn, table: Table, values: Dict[str, Any], keys: Sequence[str]):
    statement = _dialect_insert(conn, table).values(**values)
    changed = {k: statement.excluded[k] for k in values if k not in keys}
    return statement.on_conflict_do_update(index_elements=list(keys), set_=changed)


def _passage_dict(passage: Passage, knowledge_base: str) -> Dict[str, Any]:
    """What the store keeps of a passage read: enough to show it and to train on
    it, and the knowledge base it came from."""
    return {
        "id": passage.id, "title": passage.title, "path": passage.path, "url": passage.url, "text": passage.text,
        "knowledge_base": knowledge_base,
    }


def _names(searched: Optional[str]) -> List[str]:
    """The knowledge bases an answer searched (rows from before audiences: the default one)."""
    return json.loads(searched) if searched else [DEFAULT_KNOWLEDGE_BASE]


def searched_any(knowledge_bases: Optional[Sequence[str]]):
    """A WHERE clause: the answer searched any of `knowledge_bases` (None: every answer).
    Names are letters, digits, '.', '_' and '-' (access.py), so a quoted name matches one list item."""
    if knowledge_bases is None:
        return true()
    clauses = [answers.c.knowledge_bases.like(f'%"{name}"%') for name in knowledge_bases]
    if DEFAULT_KNOWLEDGE_BASE in knowledge_bases:
        clauses.append(answers.c.knowledge_bases.is_(None))
    return or_(*clauses)


def _only_from(item: Dict[str, Any], knowledge_bases: Sequence[str]) -> bool:
    """Every passage of a stored answer came from `knowledge_bases`, and it searched no other."""
    wanted = set(knowledge_bases)
    if not set(_names(item.get("knowledge_bases"))) <= wanted:
        return False
    return all(p.get("knowledge_base", DEFAULT_KNOWLEDGE_BASE) in wanted for p in item["passages"])


def _index_of(passage: Passage, read: Sequence[Passage]) -> Optional[int]:
    for i, other in enumerate(read):
        if other is passage or (other.id == passage.id and other.text == passage.text):
            return i
    return None


def _decoded(row) -> Dict[str, Any]:
    item = dict(row)
    item["passages"] = json.loads(item["passages"]) if item.get("passages") else []
    return item
