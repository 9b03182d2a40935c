"""Group commit: concurrent writes from one process share one round trip.

While a flush is in flight, new items queue up and go together in the next one, so
batches grow with load; `linger_s` lets the first item of a batch wait a moment for
company. Items are flushed in the order they were submitted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")

MAX_BATCH = 256


class GroupCommit(Generic[In, Out]):
    def __init__(
        self, flush: Callable[[list[In]], Awaitable[Sequence[Out]]], *, name: str,
        max_batch: int = MAX_BATCH, linger_s: float = 0.0,
    ) -> None:  # fmt: skip
        self._flush = flush
        self._name = name
        self._max_batch = max_batch
        self._linger_s = linger_s
        self._pending: list[tuple[In, asyncio.Future[Out]]] = []
        self._task: asyncio.Task[None] | None = None

    def submit_nowait(self, item: In) -> asyncio.Future[Out]:
        """Queue `item` now (its place in the order is fixed); the future has its result."""
        future: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name=f"group-commit:{self._name}")
        return future

    async def submit(self, item: In) -> Out:
        return await self.submit_nowait(item)

    async def drain(self) -> None:
        """Wait until everything submitted so far is flushed."""
        while self._task is not None and not self._task.done():
            await asyncio.wait({self._task})

    async def _drain(self) -> None:
        if self._linger_s:
            await asyncio.sleep(self._linger_s)
        while self._pending:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            try:
                results = await self._flush([item for item, _ in batch])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
