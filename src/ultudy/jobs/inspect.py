"""What an operator reads about jobs across owners: wait and run times of the last
hour's finished jobs, and one job's timeline (its row's times and its events)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from ultudy.db import Database
from ultudy.db.models import jobs
from ultudy.db.types import utcnow
from ultudy.jobs.events import JobEvent
from ultudy.jobs.record import JobRecord
from ultudy.jobs.states import JobStatus
from ultudy.jobs.throughput import percentile

# The latest this many finished jobs of the window are timed: a bound on the work of one
# dashboard refresh however busy the hour was.
DURATION_SAMPLE = 5000
_FINISHED = (JobStatus.COMPLETED.value, JobStatus.FAILED.value)


@dataclass(frozen=True, kw_only=True)
class Durations:
    """Milliseconds; None when no job of the window says."""

    samples: int
    wait_p50_ms: float | None
    wait_p95_ms: float | None
    run_p50_ms: float | None
    run_p95_ms: float | None


@dataclass(frozen=True, kw_only=True)
class TimelineEntry:
    at: datetime
    event: str
    detail: str | None
    source: str  # "row" (a time the row keeps) or "event" (the owner's event log)


def _ms(delta: timedelta) -> float:
    return max(0.0, delta.total_seconds() * 1000)


def _summary(waits: list[float], runs: list[float]) -> Durations:
    waits.sort()
    runs.sort()
    return Durations(
        samples=len(runs),
        wait_p50_ms=percentile(waits, 50),
        wait_p95_ms=percentile(waits, 95),
        run_p50_ms=percentile(runs, 50),
        run_p95_ms=percentile(runs, 95),
    )


async def durations(db: Database, *, within_s: float) -> dict[str, Durations]:
    """Per job type, over the queued jobs that finished within the last `within_s`: wait
    is from when the job could run (created, or its `run_at`) to its last start, so a
    retried job's wait includes its backoff; run is from its last start to its end."""
    since = utcnow() - timedelta(seconds=within_s)
    query = (
        select(
            jobs.c.type, jobs.c.created_at, jobs.c.run_at, jobs.c.started_at, jobs.c.completed_at
        )
        .where(
            jobs.c.status.in_(_FINISHED),
            jobs.c.updated_at >= since,
            jobs.c.inline.is_(False),
            jobs.c.started_at.is_not(None),
        )
        .order_by(jobs.c.updated_at.desc())
        .limit(DURATION_SAMPLE)
    )
    waits: dict[str, list[float]] = {}
    runs: dict[str, list[float]] = {}
    async with db.transaction(None) as conn:
        for job_type, created, run_at, started, ended in await conn.execute(query):
            ready = max(created, run_at) if run_at else created
            waits.setdefault(job_type, []).append(_ms(started - ready))
            if ended is not None:
                runs.setdefault(job_type, []).append(_ms(ended - started))
    return {t: _summary(waits[t], runs.get(t, [])) for t in waits}


def _event_entry(event: JobEvent) -> TimelineEntry:
    job = event.data.get("job") or {}
    detail = None
    if event.type == "job.progress":
        detail = f"{job.get('progress')} % {job.get('progress_message') or ''}".strip()
    elif job.get("error_message"):
        detail = str(job["error_message"])
    elif event.type == "job.processing" and job.get("attempts"):
        detail = f"attempt {job['attempts']}"
    at_ms = int(event.id.split("-", 1)[0])
    return TimelineEntry(
        at=datetime.fromtimestamp(at_ms / 1000, tz=UTC),
        event=event.type,
        detail=detail,
        source="event",
    )


def timeline(record: JobRecord, events: list[JobEvent]) -> list[TimelineEntry]:
    """The row's own times (the last attempt's start only) and the job's events still in
    its owner's event log, oldest first."""
    entries = [TimelineEntry(at=record.created_at, event="created", detail=None, source="row")]
    if record.run_at is not None:
        entries.append(TimelineEntry(at=record.run_at, event="run at", detail=None, source="row"))
    if record.started_at is not None:
        attempt = f"attempt {record.attempts} of {record.max_attempts}"
        entries.append(
            TimelineEntry(at=record.started_at, event="started", detail=attempt, source="row")
        )
    if record.completed_at is not None:
        entries.append(
            TimelineEntry(
                at=record.completed_at,
                event=record.status,
                detail=record.error_message,
                source="row",
            )
        )
    entries += [_event_entry(e) for e in events]
    return sorted(entries, key=lambda e: e.at)
