"""The `schedules` table: a user's schedules, and the cross-owner claim of a due tick."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ultudy.db import Database
from ultudy.db.models import jobs, schedules
from ultudy.db.types import utcnow
from ultudy.errors import NotFoundError
from ultudy.jobs.record import JobRecord, row_values
from ultudy.jobs.schedules.spec import Cadence


@dataclass(frozen=True, kw_only=True)
class ScheduleRecord:
    id: uuid.UUID
    owner_id: str
    name: str
    job_type: str
    input_data: dict[str, Any]
    cron: str | None
    timezone: str
    interval_s: int | None
    paused: bool
    next_run_at: datetime
    last_run_at: datetime | None
    last_job_id: uuid.UUID | None
    runs: int
    created_at: datetime

    @property
    def cadence(self) -> Cadence:
        return Cadence(cron=self.cron, interval_s=self.interval_s, timezone=self.timezone)


def _record(row: Any) -> ScheduleRecord:
    return ScheduleRecord(**row._mapping)


class ScheduleStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        *,
        owner_id: str,
        name: str,
        job_type: str,
        input_data: dict[str, Any],
        cadence: Cadence,
    ) -> ScheduleRecord:
        now = utcnow()
        record = ScheduleRecord(
            id=uuid.uuid4(),
            owner_id=owner_id,
            name=name,
            job_type=job_type,
            input_data=input_data,
            cron=cadence.cron,
            timezone=cadence.timezone,
            interval_s=cadence.interval_s,
            paused=False,
            next_run_at=cadence.next_after(now),
            last_run_at=None,
            last_job_id=None,
            runs=0,
            created_at=now,
        )
        async with self.db.transaction(owner_id) as conn:
            await conn.execute(insert(schedules), [record.__dict__])
        return record

    async def owned(self, owner_id: str) -> list[ScheduleRecord]:
        query = (
            select(schedules)
            .where(schedules.c.owner_id == owner_id)
            .order_by(schedules.c.created_at, schedules.c.id)
        )
        async with self.db.transaction(owner_id) as conn:
            return [_record(r) for r in await conn.execute(query)]

    async def set_paused(
        self, owner_id: str, schedule_id: uuid.UUID, *, paused: bool
    ) -> ScheduleRecord:
        """Pause, or resume: a resumed schedule's next run is its next tick from now (the
        ticks missed while paused are not made up)."""
        async with self.db.transaction(owner_id) as conn:
            found = await self._get(conn, owner_id, schedule_id)
            values: dict[str, Any] = {"paused": paused}
            if not paused and found.paused:
                values["next_run_at"] = found.cadence.next_after(utcnow())
            query = (
                update(schedules)
                .where(schedules.c.id == schedule_id, schedules.c.owner_id == owner_id)
                .values(**values)
                .returning(*schedules.c)
            )
            return _record((await conn.execute(query)).one())

    async def delete(self, owner_id: str, schedule_id: uuid.UUID) -> None:
        query = delete(schedules).where(
            schedules.c.id == schedule_id, schedules.c.owner_id == owner_id
        )
        async with self.db.transaction(owner_id) as conn:
            if not (await conn.execute(query)).rowcount:
                raise NotFoundError("Schedule not found")

    async def _get(
        self, conn: AsyncConnection, owner_id: str, schedule_id: uuid.UUID
    ) -> ScheduleRecord:
        query = select(schedules).where(
            schedules.c.id == schedule_id, schedules.c.owner_id == owner_id
        )
        row = (await conn.execute(query)).one_or_none()
        if row is None:
            raise NotFoundError("Schedule not found")
        return _record(row)

    async def due(self, now: datetime, *, limit: int) -> list[ScheduleRecord]:
        """Cross-owner: active schedules whose next run is not after `now`, oldest first."""
        query = (
            select(schedules)
            .where(schedules.c.next_run_at <= now, schedules.c.paused.is_(False))
            .order_by(schedules.c.next_run_at)
            .limit(limit)
        )
        async with self.db.transaction(None) as conn:
            return [_record(r) for r in await conn.execute(query)]

    async def claim(self, schedule: ScheduleRecord, job: JobRecord, next_run_at: datetime) -> bool:
        """Move the schedule to its next tick and insert the tick's job, in one transaction;
        False (nothing written) when another worker claimed this tick first, or the
        schedule was paused or deleted meanwhile. The WHERE on the old `next_run_at` is
        what makes a tick run once: a second UPDATE finds it changed (on PostgreSQL it
        waits for the first one's row lock, then re-reads the row)."""
        query = (
            update(schedules)
            .where(
                schedules.c.id == schedule.id,
                schedules.c.next_run_at == schedule.next_run_at,
                schedules.c.paused.is_(False),
            )
            .values(
                next_run_at=next_run_at,
                last_run_at=job.created_at,
                last_job_id=job.id,
                runs=schedules.c.runs + 1,
            )
        )
        async with self.db.transaction(None) as conn:
            if not (await conn.execute(query)).rowcount:
                return False
            await conn.execute(insert(jobs), [row_values(job)])
        return True
