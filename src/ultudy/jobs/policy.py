"""Pure policies with an injected clock: retry backoff and progress throttling."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from time import monotonic

MAX_BACKOFF_MS = 10 * 60 * 1000


def backoff_delay_ms(attempts_made: int, *, base_ms: int) -> int:
    """BullMQ's exponential backoff: base · 2^(attempt-1), capped."""
    return int(min(base_ms * 2 ** max(attempts_made - 1, 0), MAX_BACKOFF_MS))


@dataclass(kw_only=True)
class ProgressThrottle:
    """Lets a progress write through at most once per interval; the last value wins later.

    Every update still goes to the live event stream; only the SQL write is throttled,
    and the final state write carries progress 100 anyway.
    """

    interval_s: float
    clock: Callable[[], float] = monotonic
    _last_write: float = field(default=float("-inf"), init=False)

    def started(self) -> None:
        """The row was just written (marked processing): the next write waits an interval."""
        self._last_write = self.clock()

    def should_write(self) -> bool:
        now = self.clock()
        if now - self._last_write >= self.interval_s:
            self._last_write = now
            return True
        return False
