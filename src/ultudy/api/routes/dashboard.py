"""The dashboard's JSON API beyond the overview: charts, durations, search across owners,
one job's detail, and cancel or promote any owner's job (admin only)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from ultudy.api.auth import USER_ID_RE
from ultudy.api.deps import Admin, Jobs, State
from ultudy.api.schemas import JobOut
from ultudy.api.schemas.dashboard import (
    DashboardStats,
    JobDetail,
    JobSearch,
    JobSummary,
    QueueStats,
    TimelineOut,
)
from ultudy.api.schemas.errors import errors
from ultudy.api.state import AppState
from ultudy.jobs.inspect import Durations, durations, timeline
from ultudy.jobs.states import JobStatus
from ultudy.jobs.throughput import MINUTE_MS, history

router = APIRouter(prefix="/admin/api", tags=["admin"], responses=errors(403))
LOG_LINES_SHOWN = 200
NO_DURATIONS = Durations(
    samples=0, wait_p50_ms=None, wait_p95_ms=None, run_p50_ms=None, run_p95_ms=None
)


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


@router.get(
    "/stats",
    response_model=DashboardStats,
    summary="Finished jobs per minute, failure rate and wait/run percentiles per queue",
)
async def stats(
    state: State,
    _admin: Admin,
    minutes: Annotated[int, Query(ge=5, le=1440)] = 60,
) -> DashboardStats:
    now_ms = int(time.time() * 1000)
    names = state.kinds.queue_names
    counts = await history(
        state.queues.redis, state.settings.redis_prefix, names, now_ms=now_ms, minutes=minutes
    )
    timed = await durations(state.db, within_s=minutes * 60)
    queues: dict[str, QueueStats] = {}
    for name in names:
        done, failed = counts[name]["completed"], counts[name]["failed"]
        finished = sum(done) + sum(failed)
        times = timed.get(state.kinds.by_queue(name).name, NO_DURATIONS)
        queues[name] = QueueStats(
            completed=done,
            failed=failed,
            failure_rate=round(sum(failed) / finished, 4) if finished else None,
            samples=times.samples,
            wait_p50_ms=times.wait_p50_ms,
            wait_p95_ms=times.wait_p95_ms,
            run_p50_ms=times.run_p50_ms,
            run_p95_ms=times.run_p95_ms,
        )
    minute_start = datetime.fromtimestamp(now_ms // MINUTE_MS * 60, tz=UTC)
    return DashboardStats(minutes=minutes, until=_iso(minute_start), queues=queues)


def _known_type(state: AppState, job_type: str | None) -> str | None:
    """A registered type or None; an unknown one is a 422 naming the known ones."""
    return None if job_type is None else state.kinds[job_type].name


@router.get(
    "/jobs",
    response_model=JobSearch,
    summary="Search every owner's jobs by id, owner, status and type, newest first",
)
async def search(
    state: State,
    jobs: Jobs,
    _admin: Admin,
    job_id: Annotated[uuid.UUID | None, Query(alias="id")] = None,
    owner: Annotated[str | None, Query(pattern=USER_ID_RE.pattern)] = None,
    status_filter: Annotated[JobStatus | None, Query(alias="status")] = None,
    type_filter: Annotated[str | None, Query(alias="type", max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> JobSearch:
    page = await jobs.list(
        None,
        job_id=job_id,
        of_owner=owner,
        status=status_filter,
        type=_known_type(state, type_filter),
        limit=limit,
        cursor=cursor,
    )
    found = [JobSummary.model_validate(j.to_public()) for j in page.jobs]
    return JobSearch(jobs=found, next_cursor=page.next_cursor)


@router.get(
    "/jobs/{job_id}",
    response_model=JobDetail,
    summary="Any owner's job: input, result, error, attempts, log lines and timeline",
)
async def detail(job_id: uuid.UUID, state: State, jobs: Jobs, _admin: Admin) -> JobDetail:
    record = await jobs.get(None, job_id)
    events = await state.events.of_job(record.owner_id, str(job_id))
    if record.inline:  # run in an API process, never enqueued
        broker_state, logs = "inline", []
    else:
        broker_state = await state.queues.state(record.type, str(job_id))
        logs = await state.queues.logs(record.type, str(job_id), limit=LOG_LINES_SHOWN)
    entries = [
        TimelineOut(at=_iso(e.at), event=e.event, detail=e.detail, source=e.source)
        for e in timeline(record, events)
    ]
    return JobDetail(
        job=JobOut.of(record),
        queue=state.kinds[record.type].queue,
        broker_state=broker_state,
        logs=logs,
        timeline=entries,
    )


@router.post(
    "/jobs/{job_id}/cancel",
    response_model=JobOut,
    responses=errors(409),
    summary="Cancel any owner's pending or running job",
)
async def cancel(job_id: uuid.UUID, jobs: Jobs, _admin: Admin) -> JobOut:
    return JobOut.of(await jobs.cancel(None, job_id))


@router.post(
    "/jobs/{job_id}/promote",
    response_model=JobOut,
    responses=errors(409),
    summary="Run any owner's delayed job now",
)
async def promote(job_id: uuid.UUID, jobs: Jobs, _admin: Admin) -> JobOut:
    return JobOut.of(await jobs.promote(None, job_id))
