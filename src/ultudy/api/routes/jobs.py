"""Job routes: read, list, cancel, retry, and the queue health report."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from ultudy.api.deps import Admin, Caller, Jobs, State
from ultudy.api.schemas import JobAccepted, JobList, JobOut
from ultudy.api.schemas.errors import errors
from ultudy.api.schemas.operations import HealthReport
from ultudy.api.state import AppState
from ultudy.jobs.states import JobStatus
from ultudy.kinds import JobType
from ultudy.probe import probe

router = APIRouter(prefix="/jobs", tags=["jobs"])


async def health_report(state: AppState) -> tuple[bool, dict[str, Any]]:
    db, broker = await asyncio.gather(probe(state.db.ping()), probe(state.queues.redis.ping()))
    db_ok, db_ms, db_err = db.reachable, db.rtt_ms, db.error
    broker_ok, broker_ms, broker_err = broker.reachable, broker.rtt_ms, broker.error
    report: dict[str, Any] = {
        "database": {
            "reachable": db_ok,
            "rtt_ms": db_ms,
            "error": db_err,
            "backend": state.db.engine.dialect.name,
        },
        "broker": {
            "reachable": broker_ok,
            "rtt_ms": broker_ms,
            "error": broker_err,
            "embedded": state.embedded is not None,
        },
        "queues": {},
        "workers": {},
        "warnings": [],
    }
    if broker_ok:
        policy = await state.queues.eviction_policy()
        report["broker"]["eviction_policy"] = policy
        if policy != "noeviction":
            report["warnings"].append(
                f"Redis maxmemory-policy is {policy}: queued jobs can be evicted; "
                "set it to noeviction"
            )
        report["queues"] = await state.queues.counts()
        report["workers"] = await state.queues.workers()
        for name, workers in report["workers"].items():
            waiting = report["queues"][name]["waiting"]
            if waiting and not workers:
                report["warnings"].append(f"{waiting} job(s) wait on {name} with no live worker")
    healthy = db_ok and broker_ok
    report["status"] = "ok" if healthy else "unavailable"
    return healthy, report


@router.get(
    "/health/queues",
    response_model=HealthReport,
    response_model_exclude_unset=True,
    responses={**errors(403), 503: {"model": HealthReport, "description": "unhealthy"}},
    summary="Queue counts, workers, broker and database health",
)
async def queue_health(state: State, _admin: Admin, response: Response) -> dict[str, Any]:
    healthy, report = await health_report(state)
    response.status_code = status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE
    return report


@router.get("", response_model=JobList, summary="The caller's jobs, newest first")
async def list_jobs(
    caller: Caller,
    jobs: Jobs,
    status_filter: Annotated[JobStatus | None, Query(alias="status")] = None,
    type_filter: Annotated[JobType | None, Query(alias="type")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> JobList:
    page = await jobs.list(
        caller.user_id, status=status_filter, type=type_filter, limit=limit, cursor=cursor
    )
    return JobList(jobs=[JobOut.of(j) for j in page.jobs], next_cursor=page.next_cursor)


@router.get("/{job_id}", response_model=JobOut, summary="One job of the caller's")
async def get_job(job_id: uuid.UUID, caller: Caller, jobs: Jobs) -> JobOut:
    return JobOut.of(await jobs.get(caller.user_id, job_id))


@router.post(
    "/{job_id}/cancel",
    response_model=JobOut,
    responses=errors(409),
    summary="Cancel a pending or running job",
)
async def cancel_job(job_id: uuid.UUID, caller: Caller, jobs: Jobs) -> JobOut:
    return JobOut.of(await jobs.cancel(caller.user_id, job_id))


@router.post(
    "/{job_id}/retry",
    response_model=JobAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    responses=errors(409, 429),
    summary="Run a failed or cancelled job again as a new job",
)
async def retry_job(job_id: uuid.UUID, caller: Caller, jobs: Jobs) -> JobAccepted:
    record = await jobs.retry(caller.user_id, job_id)
    return JobAccepted(job_id=str(record.id))
