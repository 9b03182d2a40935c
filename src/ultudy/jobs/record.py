"""A job's row as a value, and its public (JSON) form."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from ultudy.db.types import utcnow
from ultudy.jobs.states import JobStatus

_TIMES = ("created_at", "started_at", "completed_at", "updated_at", "run_at")


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
    inline: bool = False
    priority: int = 0
    run_at: datetime | None = None
    blocked: bool = False  # waiting for the jobs it depends on (jobs.dependencies)
    has_dependents: bool = False

    def to_public(self) -> dict[str, Any]:
        # Shallow on purpose: asdict() deep-copies the JSON columns, on the hot path.
        data = row_values(self)
        data["id"] = str(self.id)
        for key in _TIMES:
            value = data[key]
            data[key] = value.isoformat().replace("+00:00", "Z") if value else None
        return data


def new_job(
    *,
    owner_id: str,
    type: str,
    input_data: dict[str, Any],
    max_attempts: int,
    inline: bool = False,
    priority: int = 0,
    run_at: datetime | None = None,
    blocked: bool = False,
    progress_message: str | None = None,
    job_id: uuid.UUID | None = None,
) -> JobRecord:
    """A pending job, all values made here (no database default), so no read-back is needed."""
    now = utcnow()
    return JobRecord(
        id=job_id or uuid.uuid4(),
        owner_id=owner_id,
        type=str(type),
        status=JobStatus.PENDING.value,
        progress=0,
        progress_message=progress_message,
        input_data=input_data,
        result_data=None,
        error_message=None,
        attempts=0,
        max_attempts=max_attempts,
        created_at=now,
        started_at=None,
        completed_at=None,
        updated_at=now,
        inline=inline,
        priority=priority,
        run_at=run_at,
        blocked=blocked,
    )


_FIELDS = tuple(f.name for f in fields(JobRecord))


def row_values(record: JobRecord) -> dict[str, Any]:
    """The record as the `jobs` table's column values."""
    return {name: getattr(record, name) for name in _FIELDS}


def record_from_row(row: Any) -> JobRecord:
    """A `jobs` row (SQLAlchemy Row) as a record."""
    return JobRecord(**row._mapping)
