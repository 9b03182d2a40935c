"""The `jobs` table: every status change is one conditional UPDATE that enforces the
state machine in SQL, so two processes racing on one job cannot both win."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ultudy.db import Database
from ultudy.db.models import jobs
from ultudy.db.types import utcnow
from ultudy.errors import JobInputError
from ultudy.jobs.record import JobRecord, new_job, record_from_row, row_values
from ultudy.jobs.statements import progress_statement, transition_statement
from ultudy.jobs.states import JobStatus


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


def _start_values() -> dict[str, Any]:
    return {
        "started_at": utcnow(),
        "attempts": jobs.c.attempts + 1,
        "progress": 0,
        "error_message": None,
    }


def _complete_values() -> dict[str, Any]:
    return {
        "progress": 100,
        "progress_message": "Done",
        "completed_at": utcnow(),
        "error_message": None,
    }


class JobStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        *,
        owner_id: str,
        type: str,
        input_data: dict[str, Any],
        max_attempts: int,
        inline: bool = False,
        priority: int = 0,
        run_at: datetime | None = None,
    ) -> JobRecord:
        record = new_job(
            owner_id=owner_id,
            type=type,
            input_data=input_data,
            max_attempts=max_attempts,
            inline=inline,
            priority=priority,
            run_at=run_at,
        )
        await self.insert(record)
        return record

    async def insert(self, record: JobRecord) -> None:
        async with self.db.transaction(record.owner_id) as conn:
            await conn.execute(insert(jobs), [row_values(record)])

    async def get(self, job_id: uuid.UUID, *, owner_id: str | None) -> JobRecord | None:
        query = select(jobs).where(jobs.c.id == job_id)
        if owner_id is not None:
            query = query.where(jobs.c.owner_id == owner_id)
        async with self.db.transaction(owner_id) as conn:
            row = (await conn.execute(query)).one_or_none()
        return record_from_row(row) if row else None

    async def page(
        self,
        owner_id: str | None,
        *,
        status: JobStatus | None = None,
        type: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
        of_owner: str | None = None,
        job_id: uuid.UUID | None = None,
    ) -> JobPage:
        """`owner_id` scopes the read (None: every owner's, on the system login);
        `of_owner` and `job_id` only filter (an operator's search across owners)."""
        query = select(jobs).order_by(jobs.c.created_at.desc(), jobs.c.id.desc()).limit(limit + 1)
        for column, value in ((jobs.c.owner_id, owner_id), (jobs.c.owner_id, of_owner)):
            if value is not None:
                query = query.where(column == value)
        if job_id is not None:
            query = query.where(jobs.c.id == job_id)
        if status is not None:
            query = query.where(jobs.c.status == status.value)
        if type is not None:
            query = query.where(jobs.c.type == str(type))
        if cursor:
            created, last_id = decode_cursor(cursor)
            query = query.where(
                or_(
                    jobs.c.created_at < created,
                    and_(jobs.c.created_at == created, jobs.c.id < last_id),
                )
            )
        async with self.db.transaction(owner_id) as conn:
            rows = [record_from_row(r) for r in await conn.execute(query)]
        more = len(rows) > limit
        rows = rows[:limit]
        return JobPage(jobs=rows, next_cursor=encode_cursor(rows[-1]) if more else None)

    async def transition_in(
        self,
        conn: AsyncConnection,
        job_id: uuid.UUID,
        target: JobStatus,
        values: dict[str, Any],
        *,
        owner_id: str | None,
    ) -> JobRecord | None:
        row = (await conn.execute(transition_statement(job_id, target, values, owner_id))).first()
        return record_from_row(row) if row else None

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
            return await self.transition_in(conn, job_id, target, values, owner_id=owner_id)

    async def start(self, job_id: uuid.UUID, *, owner_id: str) -> JobRecord | None:
        """pending (or processing, after a stall) -> processing; None if not runnable."""
        return await self.transition(
            job_id, JobStatus.PROCESSING, owner_id=owner_id, **_start_values()
        )

    async def set_progress(
        self, job_id: uuid.UUID, progress: int, message: str | None, *, owner_id: str | None
    ) -> bool:
        async with self.db.transaction(owner_id) as conn:
            result = await conn.execute(progress_statement(job_id, progress, message))
        return bool(result.rowcount)

    async def complete(
        self, job_id: uuid.UUID, result: dict[str, Any], *, owner_id: str
    ) -> JobRecord | None:
        return await self.transition(
            job_id,
            JobStatus.COMPLETED,
            owner_id=owner_id,
            result_data=result,
            **_complete_values(),
        )

    async def fail(
        self, job_id: uuid.UUID, message: str, *, owner_id: str | None
    ) -> JobRecord | None:
        return await self.transition(
            job_id,
            JobStatus.FAILED,
            owner_id=owner_id,
            error_message=message,
            completed_at=utcnow(),
        )

    async def cancel(
        self, job_id: uuid.UUID, *, owner_id: str | None, message: str = "Cancelled"
    ) -> JobRecord | None:
        return await self.transition(
            job_id,
            JobStatus.CANCELLED,
            owner_id=owner_id,
            error_message=message,
            completed_at=utcnow(),
        )

    async def promote(self, job_id: uuid.UUID, *, owner_id: str | None) -> JobRecord | None:
        """A pending job that waits for its `run_at` may run now; None when it does not
        wait for one. The row says so first, so a re-add by the reconciler is not delayed."""
        now = utcnow()
        query = (
            update(jobs)
            .where(
                jobs.c.id == job_id,
                jobs.c.status == JobStatus.PENDING.value,
                jobs.c.run_at > now,
            )
            .values(run_at=now, updated_at=now)
            .returning(*jobs.c)
        )
        if owner_id is not None:
            query = query.where(jobs.c.owner_id == owner_id)
        async with self.db.transaction(owner_id) as conn:
            row = (await conn.execute(query)).first()
        return record_from_row(row) if row else None

    async def unfinished(
        self,
        *,
        older_than_s: float,
        inline: bool = False,
        limit: int = 500,
        after: tuple[datetime, uuid.UUID] | None = None,
    ) -> list[JobRecord]:
        """Cross-owner: queued (or, with `inline`, sync) rows still pending or processing,
        not touched for `older_than_s`, oldest first; with `after`, those after that
        (updated_at, id) only, to page through them."""
        cutoff = utcnow() - timedelta(seconds=older_than_s)
        query = (
            select(jobs)
            .where(
                jobs.c.status.in_([JobStatus.PENDING.value, JobStatus.PROCESSING.value]),
                jobs.c.updated_at <= cutoff,
                jobs.c.inline.is_(inline),
            )
            .order_by(jobs.c.updated_at, jobs.c.id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(tuple_(jobs.c.updated_at, jobs.c.id) > after)
        async with self.db.transaction(None) as conn:
            return [record_from_row(r) for r in await conn.execute(query)]

    async def count_by_status(self) -> dict[str, int]:
        query = select(jobs.c.status, func.count()).group_by(jobs.c.status)
        async with self.db.transaction(None) as conn:
            return {status: int(n) for status, n in await conn.execute(query)}
