"""The FastAPI application factory and its lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.telemetry import TelemetryConfig

from ultudy import __version__
from ultudy.api import cors, middleware, observe, openapi, unavailable
from ultudy.api.auth import AuthError
from ultudy.api.authn import Authentication
from ultudy.api.csrf import CsrfGuard
from ultudy.api.hub import EventHub
from ultudy.api.routes import (
    admin,
    check_ins,
    dashboard,
    documents,
    events,
    lessons,
    mastery,
    metrics,
    notifications,
    pages,
    probes,
    schedules,
    session,
    uploads,
)
from ultudy.api.routes import jobs as jobs_routes
from ultudy.api.state import AppState
from ultudy.bootstrap import KindSource, build
from ultudy.config import Settings
from ultudy.errors import JobInputError, NotFoundError, TransientError, UltudyError
from ultudy.heap import freeze_startup_heap
from ultudy.jobs.caps import TooManyJobsError
from ultudy.jobs.service import JobFailedError, JobStateError

logger = logging.getLogger(__name__)

NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}

ERROR_STATUS: tuple[tuple[type[UltudyError], int], ...] = (
    (AuthError, status.HTTP_401_UNAUTHORIZED),
    (NotFoundError, status.HTTP_404_NOT_FOUND),
    (JobStateError, status.HTTP_409_CONFLICT),
    (JobInputError, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (TransientError, status.HTTP_503_SERVICE_UNAVAILABLE),
    (JobFailedError, status.HTTP_500_INTERNAL_SERVER_ERROR),
    (TooManyJobsError, status.HTTP_429_TOO_MANY_REQUESTS),
)


async def build_state(settings: Settings, kinds: KindSource | None = None) -> AppState:
    container = await build(settings, role="api", kinds=kinds)
    hub = EventHub(
        container.redis_url, container.events, max_per_owner=settings.max_streams_per_user
    )
    return AppState(container, hub)


async def close_state(state: AppState) -> None:
    await state.hub.close()
    await state.container.close()


async def _warn_on_eviction(state: AppState) -> None:
    try:
        policy = await state.queues.eviction_policy()
    except Exception:
        logger.warning("broker not reachable at start; jobs are kept in SQL until it is")
        return
    if policy != "noeviction":
        logger.warning("Redis maxmemory-policy is %s: it can evict queued jobs", policy)


def create_app(
    settings: Settings | None = None,
    *,
    registry: KindSource | None = None,
    freeze_heap: bool = False,
) -> FastAPI:
    """The app; `freeze_heap` (the `ultudy api` process, not tests that build many apps)
    takes start-up's objects out of the garbage collector's walks once it has started."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = await build_state(settings, registry)
        app.state.ultudy = state
        await _warn_on_eviction(state)
        if freeze_heap:
            freeze_startup_heap()
        try:
            yield
        finally:
            await close_state(state)

    # FastAPI's native OpenTelemetry probes three global providers on every request (3 % of
    # a submit's CPU) to find none configured; we export Prometheus metrics instead.
    app = FastAPI(
        title="Ultudy Jobs", version=__version__, lifespan=lifespan, telemetry=NO_TELEMETRY
    )

    # Last added runs first: CSRF, then authentication, both before anything reads the body.
    app.add_middleware(Authentication)
    app.add_middleware(CsrfGuard, settings=settings)
    middleware.install(app, settings)  # body limit, dev loopback guard, security headers
    app.add_middleware(observe.Observe)  # every answer has an id and is counted
    cors.install(app, settings)  # outermost: a preflight carries no credentials

    @app.exception_handler(UltudyError)
    async def _ultudy_error(_request: Request, exc: UltudyError) -> JSONResponse:
        code = next((c for kind, c in ERROR_STATUS if isinstance(exc, kind)), 400)
        headers = unavailable.RETRY_AFTER if code == status.HTTP_503_SERVICE_UNAVAILABLE else None
        if isinstance(exc, TooManyJobsError):
            headers = {"Retry-After": str(exc.retry_after_s)}
        return JSONResponse({"detail": exc.message}, status_code=code, headers=headers)

    unavailable.install(app)

    # events first: `/jobs/events` must win over `/jobs/{job_id}`.
    app.include_router(events.router)
    app.include_router(jobs_routes.router)
    for router in (
        uploads.router,
        documents.router,
        lessons.router,
        check_ins.router,
        mastery.router,
        schedules.router,
        notifications.router,
        session.router,
        metrics.router,
        probes.router,
    ):
        app.include_router(router)
    app.include_router(admin.router)
    app.include_router(dashboard.router)
    app.include_router(pages.router)
    app.include_router(notifications.pages)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    openapi.install(app)
    return app
