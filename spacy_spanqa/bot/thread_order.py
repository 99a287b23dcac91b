"""A thread's questions taken in the order they were posted.

Bolt acknowledges an event and then runs its listener on a pool thread, so a
follow-up sent right after a mention can be taken first: read without the
question it follows, or answered before it. The middleware notes each mention
as it arrives (in arrival order, before Slack gets its 200); a later question
in the same thread waits until the mentions posted before it are taken (read,
checked and queued, or turned away). The wait is bounded, and in-process: a
follow-up that reaches another replica reads whatever the store holds.
"""
import threading
import time
from decimal import Decimal, InvalidOperation
from typing import Dict, Tuple

# A mention not taken within this long no longer holds up its thread.
DEFAULT_WAIT_SECONDS = 10.0

Thread = Tuple[str, str]  # (channel, thread_ts)


class ThreadOrder:
    """The mentions each thread is still to take: `note` on arrival, `taken`
    when done, and `wait_for_earlier` before a later question is read."""

    def __init__(self, wait_seconds: float = DEFAULT_WAIT_SECONDS):
        self.wait_seconds = wait_seconds
        self._changed = threading.Condition()
        self._untaken: Dict[Thread, Dict[str, float]] = {}  # thread -> {mention ts: noted at (monotonic)}

    def note(self, channel: str, thread_ts: str, ts: str) -> None:
        """A mention posted at `ts` in the thread arrived; it is taken later."""
        now = time.monotonic()
        with self._changed:
            self._forget_stale(now)
            self._untaken.setdefault((channel, thread_ts), {})[ts] = now

    def taken(self, channel: str, thread_ts: str, ts: str) -> None:
        """The mention posted at `ts` was taken (or turned away): later questions may go."""
        with self._changed:
            untaken = self._untaken.get((channel, thread_ts))
            if untaken is None or untaken.pop(ts, None) is None:
                return
            if not untaken:
                del self._untaken[(channel, thread_ts)]
            self._changed.notify_all()

    def wait_for_earlier(self, channel: str, thread_ts: str, ts: str) -> bool:
        """Wait until every mention of the thread posted before `ts` is taken;
        False when the wait ran out (the question then goes on anyway)."""
        posted = _when(ts)

        def earlier_untaken() -> bool:
            return any(_when(other) < posted for other in self._untaken.get((channel, thread_ts), {}))

        with self._changed:
            self._forget_stale(time.monotonic())
            return self._changed.wait_for(lambda: not earlier_untaken(), timeout=self.wait_seconds)

    def _forget_stale(self, now: float) -> None:
        for thread in list(self._untaken):
            untaken = self._untaken[thread]
            for ts in [ts for ts, noted in untaken.items() if noted < now - self.wait_seconds]:
                del untaken[ts]
            if not untaken:
                del self._untaken[thread]


def _when(ts: str) -> Decimal:
    """Slack's message timestamps ("1700000000.000123") in order; exact, unlike float."""
    try:
        return Decimal(ts)
    except (InvalidOperation, TypeError):
        return Decimal(0)
