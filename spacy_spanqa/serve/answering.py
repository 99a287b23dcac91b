"""The bot's batching answer queue (`bot.answer_queue`), awaited from async routes.

Concurrent requests share reader batches: each question goes on the queue and
its request awaits the outcome, so the event loop never blocks on the model.
"""
import asyncio
from typing import List, Optional, Sequence

from ..bot.answer_queue import AnswerQueue
from ..bot.knowledge import Outcome
from ..results import Answerer
from .settings import ANSWER_TIMEOUT_SECONDS, DEFAULT_MAX_BATCH, DEFAULT_MAX_PENDING


class Busy(Exception):
    """The queue is full: the caller should retry in a moment."""


class AsyncAnswerer:
    """Questions in, outcomes (a `QAResult` or the exception asking raised) out, awaited."""

    def __init__(self, answerer: Answerer, *, max_batch: int = DEFAULT_MAX_BATCH, max_pending: int = DEFAULT_MAX_PENDING):
        self.queue = AnswerQueue(answerer, max_batch=max_batch, max_pending=max_pending)

    @property
    def knowledge_bases(self) -> Sequence[str]:
        return self.queue.knowledge_bases.names

    async def ask_many(self, questions: Sequence[str], timeout: Optional[float] = ANSWER_TIMEOUT_SECONDS) -> List[Outcome]:
        """Queue every question at once (so they can share a batch) and await all outcomes.
        Raises Busy when the queue cannot take them, asyncio.TimeoutError after `timeout`."""
        loop = asyncio.get_running_loop()
        futures = []
        for question in questions:
            future: "asyncio.Future[Outcome]" = loop.create_future()
            if not self.queue.submit(question, _resolver(loop, future)):
                for queued in futures:
                    queued.cancel()
                raise Busy()
            futures.append(future)
        return list(await asyncio.wait_for(asyncio.gather(*futures), timeout))

    def close(self) -> None:
        self.queue.close()


def _resolver(loop: asyncio.AbstractEventLoop, future: "asyncio.Future[Outcome]"):
    """A queue callback (called on a reply thread) that resolves `future` on the event loop."""

    def deliver(outcome: Outcome) -> None:
        loop.call_soon_threadsafe(_set, future, outcome)

    return deliver


def _set(future: "asyncio.Future[Outcome]", outcome: Outcome) -> None:
    if not future.done():  # cancelled: its request gave up
        future.set_result(outcome)
