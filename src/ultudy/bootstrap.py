"""The composition root: settings in, every long-lived object out, built once per process.

The API, the worker and the CLI each call `build` (with their role) and `Container.close`
at the end, instead of each wiring the database, broker, event log, writers and services
its own way. What differs by role is decided here and nowhere else:

- api: the runner (sync endpoints) writes directly; submits are group-committed; a per-user
  cap on waiting jobs; a token-mode API refuses a database login row-level security does
  not bind.
- worker: the runner's writes and events are group-committed (write-behind).
- cli: as the API, for the admin commands (list, cancel, retry).
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

from ultudy.config import AuthMode, Settings
from ultudy.db import Database
from ultudy.db.roles import log_login_warnings
from ultudy.embedded import EmbeddedValkey, resolve_redis_url
from ultudy.errors import ConfigError
from ultudy.jobs.caps import PendingCap
from ultudy.jobs.context import Processor
from ultudy.jobs.dependencies import Dependencies
from ultudy.jobs.events import EventLog
from ultudy.jobs.queue import JobQueues
from ultudy.jobs.runner import JobRunner
from ultudy.jobs.service import JobService
from ultudy.jobs.store import JobStore
from ultudy.jobs.types import JobKinds
from ultudy.jobs.writer import DirectWriter, JobWriter, batched_writer
from ultudy.kinds import study_kinds
from ultudy.notify import Notifier
from ultudy.services import StudyServices

Role = Literal["api", "worker", "cli"]
# Processors by study job type name, or a complete set of kinds (a test's own, say).
KindSource = JobKinds | Mapping[str, Processor]

MOVED_MODULES = {"ultudy.jobs.processors": "ultudy.processors"}
# A worker's live events wait up to this long to share a round trip (nobody awaits them;
# the push latency target is p50 < 20 ms, see bench.push_latency).
WORKER_EVENT_LINGER_S = 0.003


@dataclass(frozen=True, kw_only=True)
class Container:
    settings: Settings
    kinds: JobKinds
    db: Database
    redis_url: str
    queues: JobQueues
    events: EventLog
    store: JobStore
    writer: JobWriter  # the runner's: a batched one, written behind, in the worker
    runner: JobRunner
    jobs: JobService
    services: StudyServices
    embedded: EmbeddedValkey | None = None
    notifier: Notifier | None = None  # the worker's: emails for long-running jobs

    async def close(self) -> None:
        await self.writer.close()  # its queued writes first: they publish events
        if self.runner.dependencies is not None:
            await self.runner.dependencies.drain()  # settles started by those writes
        if self.notifier is not None:
            await self.notifier.close()  # after the writer: its last completions notify
        await self.jobs.creator.close()
        await self.events.drain()
        await self.queues.close()
        await self.db.dispose()
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)


def load_kinds(settings: Settings, source: KindSource | None = None) -> JobKinds:
    """The job kinds to run: `source`, or what `ULTUDY_PROCESSORS` (`module:ATTRIBUTE`)
    names: a `JobKinds`, or processors by study job type name."""
    found = _import(settings.processors) if source is None else source
    if isinstance(found, JobKinds):
        return found
    if not isinstance(found, Mapping):
        raise ConfigError(f"ULTUDY_PROCESSORS={settings.processors!r} is not a registry")
    return study_kinds(settings, found)


def _import(path: str) -> object:
    module_name, _, attribute = path.partition(":")
    # The processors lived in the job framework until it stopped knowing the app.
    module_name = MOVED_MODULES.get(module_name, module_name)
    try:
        return getattr(importlib.import_module(module_name), attribute or "REGISTRY")
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"ULTUDY_PROCESSORS={path!r} cannot be loaded: {exc}") from exc


async def build(settings: Settings, *, role: Role, kinds: KindSource | None = None) -> Container:
    """Everything `role` needs; the caller owns it and calls `close()`."""
    registered = load_kinds(settings, kinds)  # a bad setting fails before any connection
    db = Database(settings.resolved_database_url, settings.resolved_system_database_url)
    try:
        await log_login_warnings(
            db, refuse_unbound=role != "worker" and settings.auth is AuthMode.TOKEN
        )
    except ConfigError:
        await db.dispose()
        raise
    redis_url, embedded = await asyncio.to_thread(
        resolve_redis_url, settings.redis_url, settings.data_dir
    )
    return _wire(settings, role, registered, db, redis_url, embedded)


def _wire(
    settings: Settings,
    role: Role,
    kinds: JobKinds,
    db: Database,
    redis_url: str,
    embedded: EmbeddedValkey | None,
) -> Container:
    worker = role == "worker"
    queues = JobQueues(settings, redis_url, kinds)
    events = EventLog(
        queues.redis,
        prefix=settings.redis_prefix,
        maxlen=settings.event_stream_maxlen,
        ttl_s=settings.event_stream_ttl_s,
        linger_s=WORKER_EVENT_LINGER_S if worker else 0.0,
    )
    store = JobStore(db)
    services = StudyServices.build(settings, db)
    writer: JobWriter = batched_writer(store) if worker else DirectWriter(store)
    dependencies = Dependencies(store, queues, events)
    runner = JobRunner(settings, services, writer, events, kinds, dependencies=dependencies)
    jobs = JobService(
        store,
        queues,
        events,
        runner,
        creator=batched_writer(store, linger_s=0),
        pending_cap=PendingCap(db, settings.max_pending_jobs_per_user),
        dependencies=dependencies,
    )
    notifier = None
    if worker:
        notifier = Notifier(settings, db, jobs)
        runner.on_end = notifier.job_ended
    return Container(
        notifier=notifier,
        settings=settings,
        kinds=kinds,
        db=db,
        redis_url=redis_url,
        queues=queues,
        events=events,
        store=store,
        writer=writer,
        runner=runner,
        jobs=jobs,
        services=services,
        embedded=embedded,
    )


@asynccontextmanager
async def running(
    settings: Settings, *, role: Role, kinds: KindSource | None = None
) -> AsyncIterator[Container]:
    container = await build(settings, role=role, kinds=kinds)
    try:
        yield container
    finally:
        await container.close()
