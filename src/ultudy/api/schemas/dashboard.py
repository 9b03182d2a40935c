"""The dashboard's charts, durations, job search and one job's detail."""

from __future__ import annotations

from pydantic import BaseModel

from ultudy.api.schemas.jobs import JobOut
from ultudy.jobs.states import JobStatus


class QueueStats(BaseModel):
    """One queue over the window: finished jobs per minute (oldest first, the current
    minute last) from BullMQ's metrics, and wait/run percentiles from the SQL rows."""

    completed: list[int]
    failed: list[int]
    failure_rate: float | None  # failed / finished over the window; None: nothing finished
    samples: int  # finished queued jobs timed (the latest 5,000 of the window at most)
    wait_p50_ms: float | None
    wait_p95_ms: float | None
    run_p50_ms: float | None
    run_p95_ms: float | None


class DashboardStats(BaseModel):
    minutes: int
    until: str  # the start of the current minute, ISO 8601 UTC: the last point's minute
    queues: dict[str, QueueStats]


class JobSummary(BaseModel):
    """A search result: the job without its input and result."""

    id: str
    owner_id: str
    type: str
    status: JobStatus
    progress: int
    error_message: str | None
    attempts: int
    max_attempts: int
    priority: int
    created_at: str
    run_at: str | None
    started_at: str | None
    completed_at: str | None


class JobSearch(BaseModel):
    jobs: list[JobSummary]
    next_cursor: str | None


class TimelineOut(BaseModel):
    at: str
    event: str
    detail: str | None
    source: str  # "row": a time the row keeps; "event": from the owner's event log


class JobDetail(BaseModel):
    job: JobOut
    queue: str
    broker_state: str  # BullMQ's: waiting, active, delayed, completed, failed, unknown …
    logs: list[str]  # the job's log lines in BullMQ, if its processor wrote any
    timeline: list[TimelineOut]
