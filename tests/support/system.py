"""The job system's parts in this process, on a test's backend: no API, no worker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from tests.support.backends import Backend
from tests.support.processors import REGISTRY
from ultudy.bootstrap import load_kinds
from ultudy.jobs.events import EventLog
from ultudy.jobs.queue import JobQueues
from ultudy.jobs.reconciler import Reconciler
from ultudy.jobs.runner import JobRunner
from ultudy.jobs.service import JobService
from ultudy.jobs.store import JobStore
from ultudy.jobs.writer import DirectWriter


@dataclass
class JobSystem:
    store: JobStore
    queues: JobQueues
    events: EventLog
    service: JobService
    reconciler: Reconciler


@asynccontextmanager
async def job_system(backend: Backend) -> AsyncIterator[JobSystem]:
    settings = backend.settings()
    db = backend.database()
    store = JobStore(db)
    kinds = load_kinds(settings, REGISTRY)
    queues = JobQueues(settings, backend.redis_url, kinds)
    events = EventLog(queues.redis, prefix=settings.redis_prefix, maxlen=100, ttl_s=60)
    runner = JobRunner(settings, None, DirectWriter(store), events, kinds)
    service = JobService(store, queues, events, runner)
    try:
        yield JobSystem(store, queues, events, service, Reconciler(store, queues, events))
    finally:
        await events.drain()
        await queues.close()
        await db.dispose()
