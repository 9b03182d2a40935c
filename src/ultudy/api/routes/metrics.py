"""Prometheus metrics of this API process, plus the system's queue depths, paused queues,
workers and job rows, read from Redis and SQL at scrape time (so any API replica answers
for the whole system). Each worker process serves its own counters with `ultudy worker
--metrics-port` (README: Operations, Monitoring)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Gauge,
    generate_latest,
)

from ultudy.api.deps import Admin, State
from ultudy.api.schemas.errors import errors
from ultudy.api.state import AppState

router = APIRouter(tags=["operations"])


async def system_metrics(state: AppState) -> bytes:
    registry = CollectorRegistry()
    queue_jobs = Gauge(
        "ultudy_queue_jobs",
        "Jobs in the broker by queue and state (waiting, active, delayed, completed, failed)",
        ["queue", "state"],
        registry=registry,
    )
    paused = Gauge(
        "ultudy_queue_paused", "1 when the queue is paused", ["queue"], registry=registry
    )
    workers = Gauge(
        "ultudy_queue_workers", "Worker processes serving the queue", ["queue"], registry=registry
    )
    rows = Gauge("ultudy_jobs_rows", "Job rows in SQL by status", ["status"], registry=registry)
    clients = Gauge(
        "ultudy_sse_clients",
        "Live event-stream clients (SSE and WebSocket) of this API process",
        registry=registry,
    )
    for queue, counts in (await state.queues.counts()).items():
        paused.labels(queue).set(counts.pop("is_paused"))
        for name, value in counts.items():
            queue_jobs.labels(queue, name).set(value)
    for queue, live in (await state.queues.workers()).items():
        workers.labels(queue).set(len(live))
    for status, count in (await state.jobs.store.count_by_status()).items():
        rows.labels(status).set(count)
    clients.set(state.hub.subscriber_count)
    return generate_latest(registry)


@router.get(
    "/metrics",
    summary="Prometheus metrics (admin in token mode)",
    response_class=PlainTextResponse,
    responses=errors(403),
)
async def metrics(state: State, _admin: Admin) -> Response:
    body = generate_latest(REGISTRY) + await system_metrics(state)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
