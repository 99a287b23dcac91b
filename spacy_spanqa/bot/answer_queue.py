"""Answers questions off Slack's request path, one model call at a time.

Slack wants an HTTP 200 within 3 seconds and bolt's listener pool also runs
the `ack` functions of slash commands, so model time must not occupy it: the
listeners put questions here and return. One worker thread owns the answerer
(so it need not be thread-safe) and reads whatever queued up meanwhile in one
`ask_many` call; replies go out on a small pool of their own so a slow Slack
API call never holds up the model.
"""
import logging
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, List, Tuple, Union

from ..results import Answerer, QAResult
from .settings import DEFAULT_MAX_BATCH, DEFAULT_MAX_PENDING

logger = logging.getLogger(__name__)

# What a callback receives: the QAResult, or the exception that asking raised.
Outcome = Union[QAResult, Exception]
# A queued question: its text, its callback, and when it was queued (time.monotonic()).
Job = Tuple[str, Callable[[Outcome], None], float]
_STOP = object()


class AnswerQueue:
    """Questions in, outcomes to callbacks: at most `max_batch` questions per
    `ask_many` call, at most `max_pending` waiting (then `submit` says no)."""

    def __init__(
        self,
        answerer: Answerer,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_pending: int = DEFAULT_MAX_PENDING,
        reply_threads: int = 4,
    ):
        self.answerer = answerer
        self.max_batch = max(1, max_batch)
        self._jobs: "queue.Queue[Union[Job, object]]" = queue.Queue(maxsize=max_pending)
        self._replies = ThreadPoolExecutor(max_workers=reply_threads, thread_name_prefix="spanqa-reply")
        self._worker = threading.Thread(target=self._run, name="spanqa-answerer", daemon=True)
        self._worker.start()

    def submit(self, question: str, on_done: Callable[[Outcome], None]) -> bool:
        """Queue a question; `on_done` is called with its outcome on a reply
        thread. False (and nothing queued) when the queue is full."""
        try:
            self._jobs.put_nowait((question, on_done, time.monotonic()))
        except queue.Full:
            return False
        return True

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
            outcomes = self._answer([question for question, _, _ in batch])
            logger.info(
                "Answered %d question(s) in %.2fs (oldest waited %.2fs)",
                len(batch),
                time.monotonic() - started,
                started - min(queued for _, _, queued in batch),
            )
            for (_, on_done, _), outcome in zip(batch, outcomes):
                self._replies.submit(_deliver, on_done, outcome)

    def _answer(self, questions: List[str]) -> List[Outcome]:
        if len(questions) > 1:
            try:
                results = list(self.answerer.ask_many(questions))
                if len(results) == len(questions):
                    return results
                logger.error("ask_many returned %d results for %d questions", len(results), len(questions))
            except Exception:
                # One bad question fails the whole batch: ask one by one so only it fails.
                logger.warning("Batched answering failed; asking the %d questions one by one", len(questions))
        return [self._ask_one(question) for question in questions]

    def _ask_one(self, question: str) -> Outcome:
        try:
            return self.answerer.ask(question)
        except Exception as error:  # delivered to the callback, which replies politely
            return error


def _deliver(on_done: Callable[[Outcome], None], outcome: Outcome) -> None:
    try:
        on_done(outcome)
    except Exception:
        logger.exception("Replying to a question failed")
