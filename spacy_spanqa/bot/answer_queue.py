"""Answers questions off Slack's request path, one model call at a time.

Slack wants an HTTP 200 within 3 seconds and bolt's listener pool also runs
the `ack` functions of slash commands, so model time must not occupy it: the
listeners put questions here and return. One worker thread owns the answerer
(so it need not be thread-safe) and reads whatever queued up meanwhile in one
`ask_many` call per knowledge base (`knowledge.KnowledgeBases`: each question
searches only the knowledge bases its audience allows); replies go out on a
small pool of their own so a slow Slack API call never holds up the model.
"""
import logging
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, List, Optional, Sequence, Tuple, Union

from ..results import Answerer
from .knowledge import KnowledgeBases, Outcome
from .settings import DEFAULT_MAX_BATCH, DEFAULT_MAX_PENDING

logger = logging.getLogger(__name__)

# A queued question: its text, the knowledge bases it may search (None: the
# only one), its callback, and when it was queued (time.monotonic()).
Job = Tuple[str, Optional[Tuple[str, ...]], Callable[[Outcome], None], float]
_STOP = object()


class AnswerQueue:
    """Questions in, outcomes to callbacks: at most `max_batch` questions per
    batch (one `ask_many` call per knowledge base), at most `max_pending`
    waiting (then `submit` says no). An outcome is a `knowledge.ScopedResult`
    or the exception that asking raised."""

    def __init__(
        self,
        answerer: Union[Answerer, KnowledgeBases],
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_pending: int = DEFAULT_MAX_PENDING,
        reply_threads: int = 4,
    ):
        self.knowledge_bases = answerer if isinstance(answerer, KnowledgeBases) else KnowledgeBases.single(answerer)
        self.max_batch = max(1, max_batch)
        self._jobs: "queue.Queue[Union[Job, object]]" = queue.Queue(maxsize=max_pending)
        self._replies = ThreadPoolExecutor(max_workers=reply_threads, thread_name_prefix="spanqa-reply")
        self._worker = threading.Thread(target=self._run, name="spanqa-answerer", daemon=True)
        self._worker.start()

    def submit(
        self, question: str, on_done: Callable[[Outcome], None], knowledge_bases: Optional[Sequence[str]] = None
    ) -> bool:
        """Queue a question that may search `knowledge_bases` (None: the only
        one there is); `on_done` is called with its outcome on a reply thread.
        False (and nothing queued) when the queue is full."""
        scope = tuple(knowledge_bases) if knowledge_bases is not None else None
        try:
            self._jobs.put_nowait((question, scope, on_done, time.monotonic()))
        except queue.Full:
            return False
        return True

    @property
    def pending(self) -> int:
        """Questions waiting for the reader (not yet in a batch)."""
        return self._jobs.qsize()

    def close(self, timeout: float = 5.0) -> None:
        """Finish the queued questions, then stop."""
        self._jobs.put(_STOP)
        self._worker.join(timeout)
        self._replies.shutdown(wait=True)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch = [self._jobs.get()]
            if batch[0] is _STOP:
                return
            while len(batch) < self.max_batch:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is _STOP:
                    stopping = True
                    break
                batch.append(job)
            started = time.monotonic()
            outcomes = self._answer([(question, scope) for question, scope, _, _ in batch])
            logger.info(
                "Answered %d question(s) in %.2fs (oldest waited %.2fs)",
                len(batch),
                time.monotonic() - started,
                started - min(queued for _, _, _, queued in batch),
            )
            for (_, _, on_done, _), outcome in zip(batch, outcomes):
                self._replies.submit(_deliver, on_done, outcome)

    def _answer(self, questions: List[Tuple[str, Optional[Tuple[str, ...]]]]) -> List[Outcome]:
        try:
            return self.knowledge_bases.ask_many(questions)
        except Exception as error:  # a question named no knowledge base: fail those, not the worker
            logger.error("Answering a batch failed: %s", error)
            return [error] * len(questions)


def _deliver(on_done: Callable[[Outcome], None], outcome: Outcome) -> None:
    try:
        on_done(outcome)
    except Exception:
        logger.exception("Replying to a question failed")
