"""What a processor sees: its job's identity and input, progress reporting, cancellation.

A processor is `async def process(ctx: JobContext[S], data: dict) -> dict`, where `S` is
whatever services object the application built for its processors (the framework only
hands it on). The framework owns every status change; the processor only reports progress
and checks cancellation.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from ultudy.errors import JobCancelledError, JobInputError

S = TypeVar("S")


class CancelSignal(Protocol):
    @property
    def aborted(self) -> bool: ...


class NeverCancelled:
    aborted = False


ProgressSink = Callable[[int, str | None], Awaitable[None]]
# (job type, input, key) -> the id of a job that runs once this one completes
Spawner = Callable[[str, dict[str, Any], str], Awaitable[uuid.UUID]]


async def _cannot_spawn(_type: str, _input: dict[str, Any], _key: str) -> uuid.UUID:
    raise JobInputError("this job cannot start follow-up jobs")


@dataclass(kw_only=True)
class JobContext(Generic[S]):
    job_id: uuid.UUID
    owner_id: str
    type: str
    attempt: int
    services: S  # the application's long-lived resources, built once per process
    sink: ProgressSink
    signal: CancelSignal = field(default_factory=NeverCancelled)
    enqueued_at: float | None = None
    max_attempts: int = 1
    last_progress: int = 0
    spawner: Spawner = _cannot_spawn

    async def spawn(self, job_type: str, input_data: dict[str, Any], *, key: str) -> uuid.UUID:
        """A job of this owner that waits for this job and runs once it completes (and is
        cancelled if it fails). `key` names it among this job's follow-ups: a second run of
        this job (delivery is at-least-once) spawns the same job, not another."""
        return await self.spawner(job_type, input_data, key)

    @property
    def cancelled(self) -> bool:
        return bool(self.signal.aborted)

    def check_cancelled(self) -> None:
        """A checkpoint: stop here if the job was cancelled."""
        if self.cancelled:
            raise JobCancelledError()

    async def progress(self, pct: float, message: str | None = None) -> None:
        """Report progress (0-100, never going back) and check for cancellation."""
        self.check_cancelled()
        value = max(self.last_progress, min(100, max(0, round(pct))))
        self.last_progress = value
        await self.sink(value, message)


Processor = Callable[[JobContext[Any], dict[str, Any]], Awaitable[dict[str, Any]]]
Registry = Mapping[str, Processor]  # processors by kind name
