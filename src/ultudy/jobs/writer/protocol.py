"""What a runner needs from whatever writes its job rows."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from ultudy.jobs.record import JobRecord
from ultudy.jobs.states import JobStatus

Written = Callable[[JobRecord | None], None]


class JobWriter(Protocol):
    @property
    def writes_behind(self) -> bool:
        """False: every write is done when its call returns, or when `start`'s future is
        (the API's inline runs). True: a start, a progress update and a completion written
        behind are queued and written a moment later (the worker's group commit), so the
        runner neither waits for a start nor for its job's completion."""
        ...

    def start(self, job_id: uuid.UUID, owner_id: str) -> asyncio.Future[Any]:
        """Resolves to something (the row) when the job may run, None when it may not."""
        ...

    async def complete(
        self, job_id: uuid.UUID, owner_id: str, result: dict[str, Any]
    ) -> JobRecord | None:
        """The completed row; None if the row was not `processing` (cancelled meanwhile)."""
        ...

    def complete_behind(
        self, job_id: uuid.UUID, owner_id: str, result: dict[str, Any], written: Written
    ) -> None:
        """Queue the completion (only when `writes_behind`); `written` gets what
        `complete` would have returned, once it is written."""
        ...

    async def transition(
        self, job_id: uuid.UUID, owner_id: str, target: JobStatus, values: dict[str, Any]
    ) -> JobRecord | None: ...

    async def progress(
        self, job_id: uuid.UUID, owner_id: str, pct: int, msg: str | None
    ) -> None: ...

    async def create(self, record: JobRecord) -> None: ...

    async def close(self) -> None:
        """Write what is queued, then release what the writer holds."""
        ...
