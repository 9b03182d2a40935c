"""Group commit: concurrent writes from one process share one round trip.

While a flush is in flight, new items queue up and go together in the next one, so
batches grow with load. Items may also wait a moment for company: up to `linger_s`, or
`urgent_linger_s` for an urgent item (one somebody awaits). With a `key` (a job, say), an
urgent item takes along only the items of its own key while the others go on lingering:
a short job's start and end still meet in one write, and the end does not wait for the
start's linger. Items of one key are flushed in submission order.

An item nobody needs the result of (a progress write, an event) goes in with `post`: no
future of its own; a flush that fails reports once to `on_lost`, with how many such items
it lost.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")

logger = logging.getLogger(__name__)

MAX_BATCH = 256


@dataclass(slots=True)
class _Pending:
    item: Any
    future: asyncio.Future[Any] | None  # None: posted, nobody waits for it
    key: Hashable
    due: float  # loop time by which it is flushed
    urgent: bool


class GroupCommit(Generic[In, Out]):
    def __init__(
        self,
        flush: Callable[[list[In]], Awaitable[Sequence[Out]]],
        *,
        name: str,
        max_batch: int = MAX_BATCH,
        linger_s: float = 0.0,
        urgent_linger_s: float = 0.0,
        key: Callable[[In], Hashable] | None = None,
        on_lost: Callable[[int, Exception], None] | None = None,
    ) -> None:
        self._flush = flush
        self._name = name
        self._max_batch = max_batch
        self._linger_s = linger_s
        self._urgent_linger_s = min(urgent_linger_s, linger_s)
        self._key = key
        self._on_lost = on_lost or self._log_lost
        self._pending: list[_Pending] = []
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Future[None] | None = None
        self._wake_at = math.inf

    def submit_nowait(self, item: In, *, urgent: bool = False) -> asyncio.Future[Out]:
        """Queue `item` now (its place in the order is fixed); the future has its result."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Out] = loop.create_future()
        self._queue(loop, item, future, urgent)
        return future

    def post(self, item: In) -> None:
        """Queue `item` now, for nobody to wait on (a failure goes to `on_lost`)."""
        self._queue(asyncio.get_running_loop(), item, None, False)

    def _queue(
        self,
        loop: asyncio.AbstractEventLoop,
        item: In,
        future: asyncio.Future[Out] | None,
        urgent: bool,
    ) -> None:
        key = self._key(item) if self._key is not None else None
        due = loop.time() + (self._urgent_linger_s if urgent else self._linger_s)
        self._pending.append(_Pending(item, future, key, due, urgent))
        if due < self._wake_at and self._wake is not None and not self._wake.done():
            self._wake.set_result(None)  # the lingering flush recomputes its deadline
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name=f"group-commit:{self._name}")

    async def submit(self, item: In) -> Out:
        """Queue `item` and wait for its result: it is urgent."""
        return await self.submit_nowait(item, urgent=True)

    async def drain(self) -> None:
        """Wait until everything submitted so far is flushed."""
        while self._task is not None and not self._task.done():
            await asyncio.wait({self._task})

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            due = min(
                self._pending[0].due,
                min((p.due for p in self._pending if p.urgent), default=math.inf),
            )
            if due > loop.time():
                await self._linger(loop, due)
                continue
            batch = self._take(loop.time())
            try:
                results = await self._flush([p.item for p in batch])
            except Exception as exc:
                lost = 0
                for entry in batch:
                    if entry.future is None:
                        lost += 1
                    elif not entry.future.done():
                        entry.future.set_exception(exc)
                if lost:
                    self._on_lost(lost, exc)
                continue
            for entry, result in zip(batch, results, strict=True):
                if entry.future is not None and not entry.future.done():
                    entry.future.set_result(result)

    def _log_lost(self, count: int, exc: Exception) -> None:
        logger.warning("%s: %d queued item(s) not written: %s", self._name, count, exc)

    async def _linger(self, loop: asyncio.AbstractEventLoop, until: float) -> None:
        """Wait until loop time `until`, or until an item due earlier comes."""
        self._wake = wake = loop.create_future()
        self._wake_at = until
        timer = loop.call_at(until, _resolve, wake)
        try:
            await wake
        finally:
            timer.cancel()
            self._wake, self._wake_at = None, math.inf

    def _take(self, now: float) -> list[_Pending]:
        """The next batch: everything (up to `max_batch`), or, with a key while the oldest
        item may still linger, the items of the keys that have an urgent item."""
        pending = self._pending
        if self._key is None or pending[0].due <= now:
            batch, self._pending = pending[: self._max_batch], pending[self._max_batch :]
            return batch
        urgent = {p.key for p in pending if p.urgent}
        batch = [p for p in pending if p.key in urgent][: self._max_batch]
        chosen = {id(p) for p in batch}
        self._pending = [p for p in pending if id(p) not in chosen]
        return batch


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
