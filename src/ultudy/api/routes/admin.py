"""The operator's JSON API behind the dashboard: counts, workers, failed jobs, pausing."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, HTTPException, status

from ultudy.api.deps import Admin, Jobs, State
from ultudy.api.routes.jobs import health_report
from ultudy.api.schemas import JobAccepted
from ultudy.api.schemas.errors import errors
from ultudy.api.schemas.operations import AdminOverview, FailedJob, QueuePaused
from ultudy.api.state import AppState
from ultudy.jobs.states import JobStatus

router = APIRouter(prefix="/admin/api", tags=["admin"], responses=errors(403))
FAILED_SHOWN = 50


@router.get(
    "/overview",
    response_model=AdminOverview,
    response_model_exclude_unset=True,
    summary="Queues, workers, health and the latest failed jobs",
)
async def overview(state: State, jobs: Jobs, _admin: Admin) -> dict[str, Any]:
    _healthy, report = await health_report(state)
    failed = await jobs.list(None, status=JobStatus.FAILED, limit=FAILED_SHOWN)
    report["failed_jobs"] = [
        FailedJob.model_validate(j.to_public()).model_dump() for j in failed.jobs
    ]
    report["rows"] = await jobs.store.count_by_status()
    report["live_clients"] = state.hub.subscriber_count  # SSE + WebSocket, this process
    return report


def _queue(state: AppState, name: str) -> str:
    known = state.kinds.queue_names
    if name not in known:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no queue {name!r}; known: {known}")
    return name


@router.post(
    "/queues/{name}/pause",
    response_model=QueuePaused,
    summary="Stop handing out this queue's jobs",
)
async def pause(name: str, state: State, _admin: Admin) -> QueuePaused:
    await state.queues.pause(_queue(state, name))
    return QueuePaused(queue=name, paused=True)


@router.post("/queues/{name}/resume", response_model=QueuePaused, summary="Resume a paused queue")
async def resume(name: str, state: State, _admin: Admin) -> QueuePaused:
    await state.queues.resume(_queue(state, name))
    return QueuePaused(queue=name, paused=False)


@router.post(
    "/jobs/{job_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobAccepted,
    responses=errors(409, 429),
)
async def retry(job_id: uuid.UUID, jobs: Jobs, _admin: Admin) -> JobAccepted:
    """Any owner's failed or cancelled job, again, as a new job of that owner."""
    return JobAccepted(job_id=str((await jobs.retry(None, job_id)).id))
