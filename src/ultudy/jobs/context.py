"""What a processor sees: its job's identity and input, progress reporting, cancellation.

A processor is `async def process(ctx: JobContext, data: dict) -> dict`. The framework
owns every status change; the processor only reports progress and checks cancellation.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ultudy.config import Settings
from ultudy.db import Database
from ultudy.errors import JobCancelledError
from ultudy.jobs.states import JobType


class CancelSignal(Protocol):
    @property
    def aborted(self) -> bool: ...


class NeverCancelled:
    aborted = False


ProgressSink = Callable[[int, str | None], Awaitable[None]]


@dataclass
class Services:
    """Long-lived resources processors use; built once per process."""

    settings: Settings
    db: Database
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(kw_only=True)
class JobContext:
    job_id: uuid.UUID
    owner_id: str
    type: JobType
    attempt: int
    services: Services
    sink: ProgressSink
    signal: CancelSignal = field(default_factory=NeverCancelled)
    enqueued_at: float | None = None
    last_progress: int = 0

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


Processor = Callable[[JobContext, dict[str, Any]], Awaitable[dict[str, Any]]]
Registry = Mapping[JobType, Processor]
