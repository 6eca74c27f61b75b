"""Logging what labelbot refuses (requests, envelopes): one line each, never the body, and a
process-wide budget, so that a flood of refused requests cannot fill the disk."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

__all__ = ["REFUSALS", "RefusalLog"]

log = logging.getLogger("labelbot.refused")


class RefusalLog:
    """At most ``rate`` lines a second (``burst`` at once); the next line written says how many
    refusals were not."""

    def __init__(
        self, rate: float = 5.0, burst: float = 20.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate, self._burst, self._clock = rate, burst, clock
        self._tokens, self._last, self._dropped = burst, clock(), 0
        self._lock = threading.Lock()

    def refused(self, what: str) -> bool:
        """Log ``what`` (no payload in it, ever) if the budget allows; whether it was logged."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
            self._last = now
            if self._tokens < 1:
                self._dropped += 1
                return False
            self._tokens -= 1
            dropped, self._dropped = self._dropped, 0
        more = f" ({dropped} more refused, not logged)" if dropped else ""
        log.warning("refused %s%s", what, more)
        return True


REFUSALS = RefusalLog()
