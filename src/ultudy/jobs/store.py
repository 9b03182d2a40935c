"""The `jobs` table: every status change is one conditional UPDATE that enforces the
state machine in SQL, so two processes racing on one job cannot both win."""

from __future__ import annotations

import base64
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ultudy.db import Database
from ultudy.db.models import jobs
from ultudy.db.types import utcnow
from ultudy.errors import JobInputError
from ultudy.jobs.states import ALLOWED_FROM, JobStatus, JobType


@dataclass(frozen=True, kw_only=True)
class JobRecord:
    id: uuid.UUID
    owner_id: str
    type: str
    status: str
    progress: int
    progress_message: str | None
    input_data: dict[str, Any]
    result_data: dict[str, Any] | None
    error_message: str | None
    attempts: int
    max_attempts: int
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    updated_at: datetime

    def to_public(self) -> dict[str, Any]:
        data = asdict(self)
        data["id"] = str(self.id)
        for key in ("created_at", "started_at", "completed_at", "updated_at"):
            value = data[key]
            data[key] = value.isoformat().replace("+00:00", "Z") if value else None
        return data


@dataclass(frozen=True, kw_only=True)
class JobPage:
    jobs: list[JobRecord]
    next_cursor: str | None


def encode_cursor(record: JobRecord) -> str:
    raw = f"{record.created_at.isoformat()}|{record.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, job_id = raw.split("|", 1)
        return datetime.fromisoformat(created), uuid.UUID(job_id)
    except ValueError as exc:
        raise JobInputError("cursor is not one this API returned") from exc


def _record(row: Any) -> JobRecord:
    return JobRecord(**row._mapping)


class JobStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self, *, owner_id: str, type: JobType, input_data: dict[str, Any], max_attempts: int
    ) -> JobRecord:
        now = utcnow()
        values = {
            "id": uuid.uuid4(), "owner_id": owner_id, "type": type.value,
            "status": JobStatus.PENDING.value, "progress": 0, "input_data": input_data,
            "attempts": 0, "max_attempts": max_attempts, "created_at": now, "updated_at": now,
        }  # fmt: skip
        async with self.db.transaction(owner_id) as conn:
            row = (await conn.execute(insert(jobs).values(values).returning(jobs))).one()
        return _record(row)

    async def get(self, job_id: uuid.UUID, *, owner_id: str | None) -> JobRecord | None:
        query = select(jobs).where(jobs.c.id == job_id)
        if owner_id is not None:
            query = query.where(jobs.c.owner_id == owner_id)
        async with self.db.transaction(owner_id) as conn:
            row = (await conn.execute(query)).one_or_none()
        return _record(row) if row else None

    async def page(
        self,
        owner_id: str | None,
        *,
        status: JobStatus | None = None,
        type: JobType | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> JobPage:
        query = select(jobs).order_by(jobs.c.created_at.desc(), jobs.c.id.desc()).limit(limit + 1)
        if owner_id is not None:
            query = query.where(jobs.c.owner_id == owner_id)
        if status is not None:
            query = query.where(jobs.c.status == status.value)
        if type is not None:
            query = query.where(jobs.c.type == type.value)
        if cursor:
            created, last_id = decode_cursor(cursor)
            query = query.where(
                or_(
                    jobs.c.created_at < created,
                    and_(jobs.c.created_at == created, jobs.c.id < last_id),
                )
            )
        async with self.db.transaction(owner_id) as conn:
            rows = [_record(r) for r in await conn.execute(query)]
        more = len(rows) > limit
        rows = rows[:limit]
        return JobPage(jobs=rows, next_cursor=encode_cursor(rows[-1]) if more else None)

    async def _transition(
        self,
        conn: AsyncConnection,
        job_id: uuid.UUID,
        target: JobStatus,
        values: dict[str, Any],
        *,
        owner_id: str | None,
    ) -> JobRecord | None:
        sources = [s.value for s in ALLOWED_FROM[target]]
        query = (
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.status.in_(sources))
            .values(status=target.value, updated_at=utcnow(), **values)
            .returning(jobs)
        )
        if owner_id is not None:
            query = query.where(jobs.c.owner_id == owner_id)
        row = (await conn.execute(query)).one_or_none()
        return _record(row) if row else None

    async def transition(
        self,
        job_id: uuid.UUID,
        target: JobStatus,
        *,
        owner_id: str | None,
        **values: Any,
    ) -> JobRecord | None:
        """Move the job to `target` if the state machine allows it; None when it did not."""
        async with self.db.transaction(owner_id) as conn:
            return await self._transition(conn, job_id, target, values, owner_id=owner_id)

    async def start(self, job_id: uuid.UUID, *, owner_id: str | None) -> JobRecord | None:
        now = utcnow()
        return await self.transition(
            job_id, JobStatus.PROCESSING, owner_id=owner_id, started_at=now,
            attempts=jobs.c.attempts + 1, progress=0, error_message=None,
        )  # fmt: skip

    async def set_progress(
        self, job_id: uuid.UUID, progress: int, message: str | None, *, owner_id: str | None
    ) -> bool:
        query = (
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.status == JobStatus.PROCESSING.value)
            .values(progress=progress, progress_message=message, updated_at=utcnow())
        )
        async with self.db.transaction(owner_id) as conn:
            result = await conn.execute(query)
        return bool(result.rowcount)

    async def complete(
        self, job_id: uuid.UUID, result: dict[str, Any], *, owner_id: str | None
    ) -> JobRecord | None:
        return await self.transition(
            job_id, JobStatus.COMPLETED, owner_id=owner_id, result_data=result, progress=100,
            progress_message="Done", completed_at=utcnow(), error_message=None,
        )  # fmt: skip

    async def fail(
        self, job_id: uuid.UUID, message: str, *, owner_id: str | None
    ) -> JobRecord | None:
        return await self.transition(
            job_id, JobStatus.FAILED, owner_id=owner_id, error_message=message,
            completed_at=utcnow(),
        )  # fmt: skip

    async def cancel(self, job_id: uuid.UUID, *, owner_id: str | None) -> JobRecord | None:
        return await self.transition(
            job_id, JobStatus.CANCELLED, owner_id=owner_id,
            error_message="Cancelled", completed_at=utcnow(),
        )  # fmt: skip

    async def requeue(
        self, job_id: uuid.UUID, message: str, *, owner_id: str | None
    ) -> JobRecord | None:
        """processing -> pending, waiting for a retry; the error is kept for the user."""
        return await self.transition(
            job_id, JobStatus.PENDING, owner_id=owner_id, progress_message=message,
            error_message=message,
        )  # fmt: skip

    async def unfinished(self, *, older_than_s: float, limit: int = 500) -> list[JobRecord]:
        """Cross-owner: rows still pending or processing, not touched for a while."""
        cutoff = utcnow() - timedelta(seconds=older_than_s)
        query = (
            select(jobs)
            .where(
                jobs.c.status.in_([JobStatus.PENDING.value, JobStatus.PROCESSING.value]),
                jobs.c.updated_at <= cutoff,
            )
            .order_by(jobs.c.updated_at)
            .limit(limit)
        )
        async with self.db.transaction(None) as conn:
            return [_record(r) for r in await conn.execute(query)]

    async def count_by_status(self) -> dict[str, int]:
        query = select(jobs.c.status, func.count()).group_by(jobs.c.status)
        async with self.db.transaction(None) as conn:
            return {status: int(n) for status, n in await conn.execute(query)}
