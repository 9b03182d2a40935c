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
import signal as signals
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from bullmq import UnrecoverableError
from bullmq import Worker as BullWorker
from redis.exceptions import ConnectionError as BrokerConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as BrokerTimeoutError

from ultudy.config import Settings
from ultudy.db.outage import is_outage
from ultudy.errors import UltudyError
from ultudy.jobs.events import EventLog
from ultudy.jobs.queue import JobQueues
from ultudy.jobs.reconciler import Reconciler
from ultudy.jobs.runner import Behind, Delivery, ExpectedFailure, JobRunner
from ultudy.jobs.schedules import ScheduleStore, Ticker
from ultudy.jobs.states import JobStatus
from ultudy.jobs.store import JobStore

logger = logging.getLogger(__name__)

BURST_POLL_S = 0.05
BURST_QUIET_CHECKS = 3
# how long the cancel relay waits before subscribing again after losing the broker
RELAY_RETRY_S = 1.0


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


class WorkerProcess:
    """Runs jobs with what its caller built for it (`ultudy.bootstrap`, role "worker"),
    which the caller closes after `run` returns."""

    def __init__(
        self,
        parts: WorkerParts,
        *,
        queue_names: tuple[str, ...] | None = None,
    ) -> None:
        self.settings: Settings = parts.settings
        self.queues: JobQueues = parts.queues
        self.queue_names = queue_names or self.queues.kinds.queue_names
        for name in self.queue_names:
            self.queues.kinds.by_queue(name)  # an unknown queue is a ConfigError, here
        self.store: JobStore = parts.store
        self.events: EventLog = parts.events
        self.runner: JobRunner = parts.runner
        self.reconciler = Reconciler(self.store, self.queues, self.events)
        self.ticker = Ticker(ScheduleStore(self.store.db), self.queues, self.events)
        self.workers: dict[str, BullWorker] = {}
        self.stop_event = asyncio.Event()

    def _bull_options(self, queue_name: str) -> dict[str, Any]:
        s = self.settings
        return {
            "connection": self.queues.redis_url,
            "prefix": s.redis_prefix,
            "concurrency": self.queues.kinds.by_queue(queue_name).concurrency,
            "lockDuration": s.lock_duration_ms,
            "stalledInterval": s.stalled_interval_ms,
            "maxStalledCount": 2,
            "autorun": False,
            "name": queue_name,
        }

    def make_bull_worker(self, name: str) -> BullWorker:
        return BullWorker(name, self._process, self._bull_options(name))

    async def _process(self, job: Any, _token: str, signal: Any) -> dict[str, Any]:
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
        )
        try:
            outcome = await self.runner.run(delivery, signal=signal)
        except ExpectedFailure as exc:
            raise UnrecoverableError(str(exc)) from exc
        # The result lives in SQL; Redis keeps only the outcome. A completion written
        # behind is `completed` here a moment before its row says so.
        if outcome is Behind.COMPLETION:
            return {"status": JobStatus.COMPLETED.value}
        return {"status": outcome.status if outcome else "skipped"}

    async def _relay_cancels(self) -> None:
        """Relay cancels until stopped. A lost broker ends a subscription (redis-py gives
        up reconnecting after a few seconds); it is made again once the broker is back.
        A cancel published meanwhile is lost: its row says cancelled all the same, and
        the job's result is dropped when it ends."""
        while not self.stop_event.is_set():
            try:
                await self._relay_cancels_once()
            except (RedisError, OSError) as exc:
                logger.warning(
                    "cancel relay lost the broker (%s); subscribing again in %g s",
                    exc,
                    RELAY_RETRY_S,
                )
                await asyncio.sleep(RELAY_RETRY_S)

    async def _relay_cancels_once(self) -> None:
        pubsub = self.queues.redis.pubsub()
        try:
            await pubsub.subscribe(self.queues.cancel_channel)
            async for message in pubsub.listen():
                if message.get("type") != "message":
                    continue
                job_id = str(message["data"])
                for worker in self.workers.values():
                    if worker.cancelJob(job_id, "cancelled by user"):
                        logger.info("job %s: cancel signal delivered", job_id)
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]

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
        policy = await self.queues.eviction_policy()
        if policy != "noeviction":
            logger.warning(
                "Redis maxmemory-policy is %s: it can evict queued jobs; set it to noeviction",
                policy,
            )
        if burst:
            await self.reconciler.run_once(min_age_s=0)
        loops = {asyncio.create_task(w.run(), name=f"bullmq:{n}") for n, w in self.workers.items()}
        helpers = [asyncio.create_task(self._relay_cancels(), name="cancel-relay")]
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
        # The writer's queued writes, the events and the connections are the container's
        # to close (`Container.close`), in that order, once this returns.
        logger.info("worker stopped")
