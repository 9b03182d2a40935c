"""The worker process: one BullMQ Worker per queue, a cancel relay and a reconciler.

Shutdown is graceful: on SIGTERM/SIGINT the workers stop taking jobs and the active ones
get `shutdown_grace_s` to finish; what is left is recovered as stalled by the next worker.
bullmq's run loop can return after printing an unexpected error; that is a crash here
(`WorkerCrashedError`, non-zero exit), never a silently idle worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal as signals
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from bullmq import UnrecoverableError
from bullmq import Worker as BullWorker
from redis.exceptions import ConnectionError as BrokerConnectionError
from redis.exceptions import TimeoutError as BrokerTimeoutError

from ultudy.config import Settings
from ultudy.db.outage import is_outage
from ultudy.errors import UltudyError
from ultudy.jobs.cancel_relay import relay_cancels
from ultudy.jobs.delivery import Behind, Delivery, ExpectedFailure
from ultudy.jobs.events import EventLog
from ultudy.jobs.mirror import JobLogHandler, node_client_name, result_summary
from ultudy.jobs.queue import JobQueues
from ultudy.jobs.reconciler import Reconciler
from ultudy.jobs.runner import JobRunner
from ultudy.jobs.schedules import ScheduleStore, Ticker
from ultudy.jobs.states import JobStatus
from ultudy.jobs.store import JobStore

logger = logging.getLogger(__name__)

BURST_POLL_S = 0.05
BURST_QUIET_CHECKS = 3
WORKER_NAME = f"{socket.gethostname()}:{os.getpid()}"


class WorkerParts(Protocol):
    """What a worker runs with (an `ultudy.bootstrap.Container` is one)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def queues(self) -> JobQueues: ...
    @property
    def store(self) -> JobStore: ...
    @property
    def events(self) -> EventLog: ...
    @property
    def runner(self) -> JobRunner: ...


class WorkerCrashedError(UltudyError):
    """A queue's run loop stopped by itself."""


class NamedWorker(BullWorker):  # type: ignore[misc]
    """A bullmq Worker whose connection node bullmq's `getWorkers()` (Bull Board) finds:
    only the blocking connection is named, `<prefix>:<base64(queue)>:w:<name>`, as node
    bullmq's Worker names it, so a worker counts once. bullmq-python would name both
    connections `<prefix>:<queue>:w:<name>`; `_ensure_client_names` is its one hook."""

    _client_name_set: bool

    async def _ensure_client_names(self) -> None:
        if self._client_name_set:
            return
        if self.blockingRedisConnection is not None:
            await self.blockingRedisConnection.set_client_name(self.clientName)
        self._client_name_set = True


class WorkerProcess:
    """Runs jobs with what its caller built for it (`ultudy.bootstrap`, role "worker"),
    which the caller closes after `run` returns."""

    def __init__(
        self,
        parts: WorkerParts,
        *,
        queue_names: tuple[str, ...] | None = None,
        concurrency: int | None = None,
    ) -> None:
        self.settings: Settings = parts.settings
        self.queues: JobQueues = parts.queues
        self.queue_names = queue_names or self.queues.kinds.queue_names
        self.concurrency = concurrency  # None: each kind's own
        for name in self.queue_names:
            self.queues.kinds.by_queue(name)  # an unknown queue is a ConfigError, here
        self.store: JobStore = parts.store
        self.events: EventLog = parts.events
        self.runner: JobRunner = parts.runner
        self.reconciler = Reconciler(self.store, self.queues, self.events, self.runner.dependencies)
        self.ticker = Ticker(ScheduleStore(self.store.db), self.queues, self.events)
        self.workers: dict[str, BullWorker] = {}
        self.stop_event = asyncio.Event()
        self.job_logs: JobLogHandler | None = None

    def _bull_options(self, queue_name: str) -> dict[str, Any]:
        s = self.settings
        options: dict[str, Any] = {
            "connection": self.queues.redis_url,
            "prefix": s.redis_prefix,
            "concurrency": self.concurrency or self.queues.kinds.by_queue(queue_name).concurrency,
            "lockDuration": s.lock_duration_ms,
            "stalledInterval": s.stalled_interval_ms,
            "maxStalledCount": 2,
            "autorun": False,
            # One name per process (BullMQ's client name `…:w:NAME`), so that counting
            # workers counts processes, not their connections.
            "name": WORKER_NAME,
        }
        if s.metrics_history_min:
            # BullMQ counts each finished job per minute inside the script that finishes
            # it: no round trip of its own. The dashboard and Bull Board read these keys.
            options["metrics"] = {"maxDataPoints": s.metrics_history_min}
        return options

    def make_bull_worker(self, name: str) -> BullWorker:
        async def process(job: Any, _token: str, signal: Any) -> dict[str, Any]:
            return await self._process(name, job, signal)

        worker = NamedWorker(name, process, self._bull_options(name))
        worker.clientName = node_client_name(self.settings.redis_prefix, name, name)
        return worker

    async def _process(self, queue: str, job: Any, signal: Any) -> dict[str, Any]:
        logs = self.job_logs
        if logs is not None:
            logs.running[job.id] = queue
        try:
            return await self._process_logged(queue, job, signal)
        finally:
            if logs is not None:
                logs.running.pop(job.id, None)

    async def _process_logged(self, queue: str, job: Any, signal: Any) -> dict[str, Any]:
        attempts = int(job.opts.get("attempts") or 1)
        before = int(job.data.get("attempts_before", 0))
        delivery = Delivery(
            job_id=uuid.UUID(job.id),
            owner_id=job.data["owner_id"],
            type=job.name,
            input_data=job.data.get("input") or {},
            attempt=before + max(job.attemptsStarted, 1),
            max_attempts=before + attempts,
            will_retry=job.attemptsMade + 1 < attempts,
            enqueued_at=job.data.get("enqueued_at"),
            queue=queue,
            redelivered=job.attemptsStarted > 1,
        )
        try:
            outcome = await self.runner.run(delivery, signal=signal)
        except ExpectedFailure as exc:
            raise UnrecoverableError(str(exc)) from exc
        # The result lives in SQL; BullMQ's `returnvalue` has the status and a summary of
        # it. A completion written behind is `completed` here a moment before its row.
        if isinstance(outcome, Behind):
            return result_summary(JobStatus.COMPLETED.value, outcome.result, outcome.chars)
        if outcome is None:
            return await self._not_run(delivery)
        return result_summary(outcome.status, outcome.result_data)

    async def _not_run(self, delivery: Delivery) -> dict[str, Any]:
        """The delivery of a job whose row is not runnable: one an operator retried from
        outside (Bull Board) after it completed or was cancelled. BullMQ is told what the
        row says: completed (with its result), or failed with the reason it was not run."""
        record = await self.store.get(delivery.job_id, owner_id=None)
        if record is not None and record.status == JobStatus.COMPLETED:
            return {**result_summary(record.status, record.result_data), "not_run_again": True}
        status = record.status if record is not None else "gone from the database"
        raise UnrecoverableError(f"Not run: the job is {status}; it is not run again.")

    async def _reconcile_forever(self) -> None:
        await self._every(
            "reconciler",
            self.settings.reconcile_interval_s,
            lambda: self.reconciler.run_once(min_age_s=self.settings.reconcile_min_age_s),
        )

    async def _tick_forever(self) -> None:
        await self._every("schedule", self.settings.schedule_poll_s, self.ticker.run_once)

    async def _every(
        self, what: str, interval_s: float, work: Callable[[], Awaitable[object]]
    ) -> None:
        """Run `work` every `interval_s` until stopped; an outage skips a pass, not the loop."""
        while not self.stop_event.is_set():
            try:
                await work()
            except (BrokerConnectionError, BrokerTimeoutError) as exc:
                logger.warning("%s pass skipped: broker unavailable (%s)", what, exc)
            except Exception as exc:
                if not is_outage(exc):
                    logger.exception("%s pass failed; trying again later", what)
                else:
                    logger.warning("%s pass skipped: database unavailable (%s)", what, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_event.wait(), timeout=interval_s)

    async def _burst_watch(self) -> None:
        """In burst mode: stop once every queue has been empty for a few checks."""
        quiet = 0
        while quiet < BURST_QUIET_CHECKS and not self.stop_event.is_set():
            await asyncio.sleep(BURST_POLL_S)
            busy = await self.queues.outstanding()
            local = any(w.jobs for w in self.workers.values())
            quiet = 0 if busy or local else quiet + 1
        self.stop_event.set()

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signals.SIGTERM, signals.SIGINT):
            loop.add_signal_handler(sig, self.stop_event.set)

    async def run(self, *, burst: bool = False) -> None:
        """Process jobs until stopped (or, with `burst`, until the queues are empty)."""
        for name in self.queue_names:
            self.workers[name] = self.make_bull_worker(name)
        self.job_logs = JobLogHandler(self.events)
        logging.getLogger().addHandler(self.job_logs)
        policy = await self.queues.eviction_policy()
        if policy != "noeviction":
            logger.warning(
                "Redis maxmemory-policy is %s: it can evict queued jobs; set it to noeviction",
                policy,
            )
        if burst:
            await self.reconciler.run_once(min_age_s=0)
        loops = {asyncio.create_task(w.run(), name=f"bullmq:{n}") for n, w in self.workers.items()}
        helpers = [
            asyncio.create_task(
                relay_cancels(self.queues, self.workers, self.stop_event), name="cancel-relay"
            )
        ]
        helpers.append(
            asyncio.create_task(
                self._burst_watch() if burst else self._reconcile_forever(), name="watch"
            )
        )
        if not burst:
            helpers.append(asyncio.create_task(self._tick_forever(), name="schedules"))
        logger.info("worker started: queues=%s burst=%s", ",".join(self.queue_names), burst)
        try:
            await self._until_stop_or_crash(loops)
        finally:
            await self._shutdown(loops, helpers)

    async def _until_stop_or_crash(self, loops: set[asyncio.Task[Any]]) -> None:
        stop = asyncio.create_task(self.stop_event.wait(), name="stop")
        done, _ = await asyncio.wait({stop, *loops}, return_when=asyncio.FIRST_COMPLETED)
        if stop not in done:
            stop.cancel()
            crashed = ", ".join(t.get_name() for t in done)
            raise WorkerCrashedError(f"run loop returned unexpectedly: {crashed}")

    async def _shutdown(
        self, loops: set[asyncio.Task[Any]], helpers: list[asyncio.Task[Any]]
    ) -> None:
        logger.info(
            "worker stopping: waiting up to %ss for active jobs", self.settings.shutdown_grace_s
        )
        closing = [asyncio.create_task(w.close()) for w in self.workers.values()]
        _, pending = await asyncio.wait(closing, timeout=self.settings.shutdown_grace_s)
        if pending:
            logger.warning("grace period over: leaving active jobs for stalled recovery")
            for worker in self.workers.values():
                await worker.close(force=True)
        # The reconciler ends its pass rather than being cancelled in the middle of a query
        # (a cancelled SQLite query's thread would report to a loop that may be gone).
        self.stop_event.set()
        await asyncio.wait(helpers[1:], timeout=self.settings.shutdown_grace_s)
        for task in [*helpers, *loops]:
            task.cancel()
        await asyncio.gather(*helpers, *loops, *closing, return_exceptions=True)
        if self.job_logs is not None:
            logging.getLogger().removeHandler(self.job_logs)
        # The writer's queued writes, the events and the connections are the container's
        # to close (`Container.close`), in that order, once this returns.
        logger.info("worker stopped")
