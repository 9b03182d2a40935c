"""The FastAPI application factory and its lifespan."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from ultudy import __version__
from ultudy.api import middleware, openapi, unavailable
from ultudy.api.auth import AuthError
from ultudy.api.authn import Authentication
from ultudy.api.csrf import CsrfGuard
from ultudy.api.hub import EventHub
from ultudy.api.routes import (
    admin,
    check_ins,
    documents,
    events,
    lessons,
    mastery,
    metrics,
    pages,
    session,
    uploads,
)
from ultudy.api.routes import jobs as jobs_routes
from ultudy.api.state import AppState
from ultudy.config import AuthMode, Settings
from ultudy.db import Database
from ultudy.db.roles import log_login_warnings
from ultudy.embedded import resolve_redis_url
from ultudy.errors import ConfigError, JobInputError, NotFoundError, TransientError, UltudyError
from ultudy.jobs.caps import PendingCap, TooManyJobsError
from ultudy.jobs.context import Registry, Services
from ultudy.jobs.events import EventLog
from ultudy.jobs.processors import load_registry
from ultudy.jobs.queue import JobQueues
from ultudy.jobs.runner import JobRunner
from ultudy.jobs.service import JobFailedError, JobService, JobStateError
from ultudy.jobs.store import JobStore
from ultudy.jobs.writer import BatchedWriter, DirectWriter

logger = logging.getLogger(__name__)

ERROR_STATUS: tuple[tuple[type[UltudyError], int], ...] = (
    (AuthError, status.HTTP_401_UNAUTHORIZED),
    (NotFoundError, status.HTTP_404_NOT_FOUND),
    (JobStateError, status.HTTP_409_CONFLICT),
    (JobInputError, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (TransientError, status.HTTP_503_SERVICE_UNAVAILABLE),
    (JobFailedError, status.HTTP_500_INTERNAL_SERVER_ERROR),
    (TooManyJobsError, status.HTTP_429_TOO_MANY_REQUESTS),
)


async def build_state(settings: Settings, registry: Registry | None = None) -> AppState:
    db = Database(settings.resolved_database_url, settings.resolved_system_database_url)
    try:
        await log_login_warnings(db, refuse_unbound=settings.auth is AuthMode.TOKEN)
    except ConfigError:
        await db.dispose()
        raise
    redis_url, embedded = await asyncio.to_thread(
        resolve_redis_url, settings.redis_url, settings.data_dir
    )
    queues = JobQueues(settings, redis_url)
    events = EventLog(
        queues.redis,
        prefix=settings.redis_prefix,
        maxlen=settings.event_stream_maxlen,
        ttl_s=settings.event_stream_ttl_s,
        batched=True,
    )
    services = Services(settings=settings, db=db)
    store = JobStore(db)
    registry = registry if registry is not None else load_registry(settings.processors)
    runner = JobRunner(services, DirectWriter(store), events, registry)
    return AppState(
        settings=settings, db=db, queues=queues, events=events,
        jobs=JobService(store, queues, events, runner, creator=BatchedWriter(store, linger_s=0),
                        pending_cap=PendingCap(db, settings.max_pending_jobs_per_user)),
        services=services,
        registry=registry, embedded=embedded,
        hub=EventHub(redis_url, events, max_per_owner=settings.max_streams_per_user),
    )  # fmt: skip


async def close_state(state: AppState) -> None:
    await state.hub.close()
    await state.events.drain()
    await state.jobs.creator.close()
    await state.queues.close()
    await state.db.dispose()
    if state.embedded is not None:
        await asyncio.to_thread(state.embedded.stop)


async def _warn_on_eviction(state: AppState) -> None:
    try:
        policy = await state.queues.eviction_policy()
    except Exception:
        logger.warning("broker not reachable at start; jobs are kept in SQL until it is")
        return
    if policy != "noeviction":
        logger.warning("Redis maxmemory-policy is %s: it can evict queued jobs", policy)


def create_app(settings: Settings | None = None, *, registry: Registry | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = await build_state(settings, registry)
        app.state.ultudy = state
        await _warn_on_eviction(state)
        try:
            yield
        finally:
            await close_state(state)

    app = FastAPI(title="Ultudy Jobs", version=__version__, lifespan=lifespan)

    # Last added runs first: CSRF, then authentication, both before anything reads the body.
    app.add_middleware(Authentication)
    app.add_middleware(CsrfGuard, settings=settings)
    middleware.install(app, settings)  # body limit, dev loopback guard, security headers

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
    for router in (uploads.router, documents.router, lessons.router, check_ins.router,
                   mastery.router, session.router, metrics.router):  # fmt: skip
        app.include_router(router)
    app.include_router(admin.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    openapi.install(app)
    return app
