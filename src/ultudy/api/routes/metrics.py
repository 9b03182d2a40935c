"""Prometheus metrics, read from Redis and SQL at scrape time (so any API replica answers
for the whole system, and workers need no port of their own)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

from ultudy.api.deps import Admin, State
from ultudy.api.schemas.errors import errors

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    summary="Prometheus metrics (admin in token mode)",
    response_class=PlainTextResponse,
    responses=errors(403),
)
async def metrics(state: State, _admin: Admin) -> Response:
    registry = CollectorRegistry()
    queue_jobs = Gauge(
        "ultudy_queue_jobs",
        "Jobs in the broker by queue and state",
        ["queue", "state"],
        registry=registry,
    )
    workers = Gauge("ultudy_queue_workers", "Live workers by queue", ["queue"], registry=registry)
    rows = Gauge("ultudy_jobs_rows", "Job rows in SQL by status", ["status"], registry=registry)
    for queue, counts in (await state.queues.counts()).items():
        for name, value in counts.items():
            queue_jobs.labels(queue, name).set(value)
    for queue, live in (await state.queues.workers()).items():
        workers.labels(queue).set(len(live))
    for status, count in (await state.jobs.store.count_by_status()).items():
        rows.labels(status).set(count)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
