"""A bounded, expiring set of keys: Slack event ids and message timestamps seen."""
import threading
import time
from collections import OrderedDict
from typing import Callable, Hashable


class RecentKeys:
    """Remembers keys for `ttl` seconds, at most `max_size` of them (oldest
    forgotten first). Slack retries an event up to three times within about
    five minutes, so the default keeps keys for 15."""

    def __init__(self, ttl: float = 900.0, max_size: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self.max_size = max_size
        self._clock = clock
        self._keys: "OrderedDict[Hashable, float]" = OrderedDict()
        self._lock = threading.Lock()

    def add(self, key: Hashable) -> bool:
        """Remember `key`; True if it is new, False if it was seen within the TTL."""
        now = self._clock()
        with self._lock:
            while self._keys:
                oldest, seen_at = next(iter(self._keys.items()))
                if now - seen_at < self.ttl and len(self._keys) < self.max_size:
                    break
                del self._keys[oldest]
            if key in self._keys:
                return False
            self._keys[key] = now
            return True

    def __len__(self) -> int:
        return len(self._keys)
