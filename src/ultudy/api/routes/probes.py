"""Probes for a process manager or a load balancer: no authentication, no details.

`/livez`: the process answers (it depends on nothing, so a database outage never gets a
healthy API restarted). `/readyz`: the database and the broker are reachable, else 503,
so a load balancer sends requests elsewhere. What is wrong is in the admin-only
`/jobs/health/queues`.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, status
from fastapi.responses import PlainTextResponse

from ultudy.api.deps import State
from ultudy.probe import probe

router = APIRouter(tags=["operations"])

TEXT = {"text/plain": {"schema": {"type": "string"}}}


@router.get(
    "/livez",
    summary="Liveness: the process answers (no authentication)",
    response_class=PlainTextResponse,
)
async def livez() -> PlainTextResponse:
    return PlainTextResponse("ok\n")


@router.get(
    "/readyz",
    summary="Readiness: database and broker reachable, else 503 (no authentication)",
    response_class=PlainTextResponse,
    responses={503: {"description": "a dependency is unreachable", "content": TEXT}},
)
async def readyz(state: State) -> PlainTextResponse:
    db, broker = await asyncio.gather(probe(state.db.ping()), probe(state.queues.redis.ping()))
    if db.reachable and broker.reachable:
        return PlainTextResponse("ok\n")
    return PlainTextResponse("not ready\n", status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
