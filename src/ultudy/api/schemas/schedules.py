"""Repeating schedules and email notification settings."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ultudy.jobs.schedules import ScheduleRecord

# One @, a dot in the domain, no spaces: the mail server judges the rest.
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class ScheduleIn(BaseModel):
    """A cron expression (five fields, in `timezone`) or an interval, not both."""

    model_config = ConfigDict(extra="forbid")
    name: Name
    job_type: Literal["check_in_reminder", "lesson_generation"]
    input: dict[str, Any] = Field(default_factory=dict)
    cron: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None, examples=["0 19 * * *"]
    )
    interval_s: int | None = Field(default=None, examples=[3600])
    timezone: Annotated[str, StringConstraints(max_length=64)] = "UTC"


class ScheduleOut(BaseModel):
    id: str
    name: str
    job_type: str
    input: dict[str, Any]
    cron: str | None
    timezone: str
    interval_s: int | None
    every: str  # the cadence in words
    paused: bool
    next_run_at: datetime
    last_run_at: datetime | None
    last_job_id: str | None
    runs: int
    created_at: datetime

    @classmethod
    def of(cls, record: ScheduleRecord) -> ScheduleOut:
        return cls(
            id=str(record.id),
            name=record.name,
            job_type=record.job_type,
            input=record.input_data,
            cron=record.cron,
            timezone=record.timezone,
            interval_s=record.interval_s,
            every=record.cadence.describe(),
            paused=record.paused,
            next_run_at=record.next_run_at,
            last_run_at=record.last_run_at,
            last_job_id=str(record.last_job_id) if record.last_job_id else None,
            runs=record.runs,
            created_at=record.created_at,
        )


class ScheduleList(BaseModel):
    schedules: list[ScheduleOut]


class NotificationSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Email | None = None
    enabled: bool


class NotificationSettingsOut(BaseModel):
    email: str | None
    enabled: bool
    notify_after_s: float  # jobs that ran or waited longer than this get an email


class FailedNotification(BaseModel):
    job_id: uuid.UUID
    owner_id: str
    status: str  # failed (given up) or retry (its digest is being retried)
    digest_id: uuid.UUID | None
    error: str | None
    created_at: datetime


class FailedNotifications(BaseModel):
    notifications: list[FailedNotification]
