"""The writer of the API's inline runs: one transaction per change, each awaited."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from ultudy.jobs.record import JobRecord
from ultudy.jobs.states import JobStatus
from ultudy.jobs.store import JobStore
from ultudy.jobs.writer.protocol import Written


class DirectWriter:
    writes_behind = False

    def __init__(self, store: JobStore) -> None:
        self.store = store

    def start(self, job_id: uuid.UUID, owner_id: str) -> asyncio.Future[Any]:
        return asyncio.ensure_future(self.store.start(job_id, owner_id=owner_id))

    async def complete(
        self, job_id: uuid.UUID, owner_id: str, result: dict[str, Any]
    ) -> JobRecord | None:
        return await self.store.complete(job_id, result, owner_id=owner_id)

    def complete_behind(
        self, job_id: uuid.UUID, owner_id: str, result: dict[str, Any], written: Written
    ) -> None:
        raise NotImplementedError("a DirectWriter does not write behind: use complete()")

    async def transition(
        self, job_id: uuid.UUID, owner_id: str, target: JobStatus, values: dict[str, Any]
    ) -> JobRecord | None:
        return await self.store.transition(job_id, target, owner_id=owner_id, **values)

    async def progress(self, job_id: uuid.UUID, owner_id: str, pct: int, msg: str | None) -> None:
        await self.store.set_progress(job_id, pct, msg, owner_id=owner_id)

    async def create(self, record: JobRecord) -> None:
        await self.store.insert(record)

    async def close(self) -> None:
        """Release what the writer holds (nothing here)."""
