"""Our snake_case face of BullMQ: the only module besides the worker that imports it.

One queue per registered job kind (`jobs.types`); the BullMQ job id is the SQL row id, so
adding the same job twice is harmless (BullMQ ignores a second add with an existing id).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from typing import Any

from bullmq import Queue
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import BusyLoadingError, ConnectionError, RedisError, TimeoutError

from ultudy.config import Settings
from ultudy.db.types import utcnow
from ultudy.jobs.batching import GroupCommit
from ultudy.jobs.fairness import band_floor, bull_priority, level_served
from ultudy.jobs.mirror import node_client_name
from ultudy.jobs.record import JobRecord
from ultudy.jobs.types import JobKinds

logger = logging.getLogger(__name__)

# BullMQ queue events that put a job somewhere, or take it away (`removed`)
PLACING_EVENTS = frozenset({"added", "waiting", "delayed", "removed"})
FINISHED = frozenset({"completed", "failed"})
EVENTS_SCANNED = 10_000
COUNT_TYPES = ("waiting", "active", "completed", "failed", "delayed", "paused", "prioritized")


REDIS_POOL_SIZE = 100
REDIS_POOL_WAIT_S = 10
# bullmq's own client for a queue retries a lost broker 20 times, up to 20 s apart: a
# submit would hang for minutes. Ours (and the events client) give up within about a
# second (a refused connect) or a few (a broker that does not answer): the row is
# committed by then, the submit answers 202, and the reconciler enqueues the job once the
# broker is back.
BROKER_RETRIES = 3
BROKER_RETRY_CAP_S = 0.5
BROKER_RETRY_BASE_S = 0.1
QUEUE_CONNECT_TIMEOUT_S = 2.0
QUEUE_COMMAND_TIMEOUT_S = 5.0


def _retry() -> Retry:
    return Retry(
        ExponentialBackoff(cap=BROKER_RETRY_CAP_S, base=BROKER_RETRY_BASE_S), BROKER_RETRIES
    )


def connect_redis(url: str) -> Redis:
    # redis-py's default pool raises at once when its connections are all busy; a burst
    # (browsers reconnecting after a deploy, a wave of submits) must wait for one instead.
    # Its connections do not retry by default: after a broker restart every pooled one
    # fails its next command ("Connection closed by server"), an event lost each; with a
    # retry, the command goes again on a new connection.
    pool = BlockingConnectionPool.from_url(
        url,
        decode_responses=True,
        health_check_interval=30,
        max_connections=REDIS_POOL_SIZE,
        timeout=REDIS_POOL_WAIT_S,
        retry=_retry(),
    )
    return Redis.from_pool(pool)


def queue_connection(url: str) -> Redis:
    """The client of one bullmq Queue (one connection, as bullmq makes it), bounded."""
    return Redis.from_url(
        url,
        decode_responses=True,
        single_connection_client=True,
        retry=_retry(),
        retry_on_error=[BusyLoadingError, ConnectionError, TimeoutError],
        socket_connect_timeout=QUEUE_CONNECT_TIMEOUT_S,
        socket_timeout=QUEUE_COMMAND_TIMEOUT_S,
    )


class JobQueues:
    """One BullMQ queue per job kind plus a plain Redis client for events and control."""

    def __init__(self, settings: Settings, redis_url: str, kinds: JobKinds) -> None:
        self.settings = settings
        self.kinds = kinds
        self.redis_url = redis_url
        self.prefix = settings.redis_prefix
        self.redis = connect_redis(redis_url)
        self.queues = {
            name: Queue(name, {"connection": queue_connection(redis_url), "prefix": self.prefix})
            for name in kinds.queue_names
        }
        self._adds: GroupCommit[tuple[JobRecord, int], Exception | None] = GroupCommit(
            self._add_many, name="queue-adds"
        )

    @property
    def cancel_channel(self) -> str:
        return f"{self.prefix}:control:cancel"

    def job_options(self, record: JobRecord, rank: int = 0) -> dict[str, Any]:
        s = self.settings
        opts: dict[str, Any] = {
            "jobId": str(record.id),
            "attempts": max(1, record.max_attempts - record.attempts),
            "backoff": {"type": "exponential", "delay": s.backoff_ms},
            "removeOnComplete": {
                "age": s.retention_completed_s,
                "count": s.retention_completed_count,
            },
            "removeOnFail": {"age": s.retention_failed_s},
        }
        if record.run_at is not None:
            # Recomputed at every (re-)add, so the reconciler keeps the original time.
            delay_ms = int((record.run_at - utcnow()).total_seconds() * 1000)
            if delay_ms > 0:
                opts["delay"] = delay_ms
        priority = bull_priority(record.priority, rank) if s.fair_sharing else record.priority
        if priority > 0:
            opts["priority"] = priority
        return opts

    def queue_types(self, job_type: str) -> tuple[str, ...]:
        """The job types that share the queue of `job_type` (its fair-share rank's scope)."""
        queue = self.kinds[job_type].queue
        return tuple(kind.name for kind in self.kinds if kind.queue == queue)

    async def add(self, record: JobRecord, *, rank: int = 0) -> None:
        """Add the job to its queue, `rank` the owner's jobs already waiting in it
        (`jobs.fairness`). Concurrent adds of one process share one round trip."""
        outcome = await self._adds.submit((record, rank))
        if outcome is not None:
            raise outcome

    async def _add_many(self, adds: list[tuple[JobRecord, int]]) -> list[Exception | None]:
        records = [record for record, _ in adds]
        by_queue: dict[str, list[int]] = defaultdict(list)
        for n, record in enumerate(records):
            by_queue[self.kinds[record.type].queue].append(n)
        outcomes: list[Exception | None] = [None] * len(records)
        for name, index in by_queue.items():
            try:
                levels = await self._levels(name, {records[n].priority for n in index})
                # The input travels with the delivery so a worker can start without SQL.
                entries = [
                    {
                        "name": records[n].type,
                        "opts": self.job_options(
                            records[n], levels.get(records[n].priority, 0) + adds[n][1]
                        ),
                        "data": {
                            "owner_id": records[n].owner_id,
                            "input": records[n].input_data,
                            "attempts_before": records[n].attempts,
                            "enqueued_at": time.time(),
                        },
                    }
                    for n in index
                ]
                await self.queues[name].addBulk(entries)
            except Exception as exc:  # for this queue's records only; their callers decide
                for n in index:
                    outcomes[n] = exc
        return outcomes

    async def _levels(self, name: str, bands: set[int]) -> dict[int, int]:
        """Per user priority, the rank level the queue serves now (`jobs.fairness`): one
        round trip per flush of adds, not per job. Nothing without fair sharing."""
        if not self.settings.fair_sharing:
            return {}
        keys = self.queues[name].keys
        order = sorted(bands)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.llen(keys["wait"])
            pipe.llen(keys["paused"])
            for band in order:
                pipe.zrangebyscore(
                    keys["prioritized"], band_floor(band), "+inf", start=0, num=1, withscores=True
                )
            waiting, paused, *firsts = await pipe.execute()
        return {
            band: level_served(
                band, first_score=first[0][1] if first else None, plain=bool(waiting or paused)
            )
            for band, first in zip(order, firsts, strict=True)
        }

    def queue_for(self, job_type: str) -> Queue:
        return self.queues[self.kinds[job_type].queue]

    async def state(self, job_type: str, job_id: str) -> str:
        """BullMQ's view: waiting, active, delayed, prioritized, completed, failed... or unknown."""
        return str(await self.queue_for(job_type).getJobState(job_id))

    async def finished_at(self, job_type: str, job_id: str) -> float | None:
        """When BullMQ finished the job (epoch seconds), None if it has not or is gone."""
        job = await self.queue_for(job_type).getJob(job_id)
        finished = getattr(job, "finishedOn", None) if job is not None else None
        return int(finished) / 1000 if finished else None

    async def removed_from_outside(self, job_type: str, job_id: str) -> bool:
        """Whether the job's latest trace in its queue's event stream (BullMQ's, capped at
        about 10,000 events) is a `removed` of an unfinished job: someone removed it (Bull
        Board, node bullmq's `job.remove()`), rather than Redis losing it (a flush loses
        the stream too). Read only for a job found missing, so rarely."""
        stream = f"{self.prefix}:{self.kinds[job_type].queue}:events"
        entries: Any = await self.redis.xrevrange(stream, count=EVENTS_SCANNED)
        for _id, fields in entries:
            if fields.get("jobId") == job_id and fields.get("event") in PLACING_EVENTS:
                # The reconciler removes a finished job before adding it again; a worker
                # killed between the two leaves a `removed` of a completed job: not this.
                return fields["event"] == "removed" and fields.get("prev") not in FINISHED
        return False

    async def remove(self, job_type: str, job_id: str) -> bool:
        """Remove a job that is not locked by a worker; False when it is running."""
        return bool(await self.queue_for(job_type).remove(job_id))

    async def promote(self, job_type: str, job_id: str) -> bool:
        """Move a delayed job to its queue's wait list now; False when BullMQ does not
        hold it delayed (gone, or moved on already)."""
        job = await self.queue_for(job_type).getJob(job_id)
        if job is None:
            return False
        try:
            await job.promote()
        except RedisError:
            raise
        except Exception:  # bullmq's "not in the delayed state"
            return False
        return True

    async def logs(self, job_type: str, job_id: str, *, limit: int) -> list[str]:
        """The job's log lines in BullMQ (`job.log`), oldest first, at most `limit`."""
        reply = await self.queue_for(job_type).getJobLogs(job_id, 0, limit - 1, True)
        return [str(line) for line in (reply or {}).get("logs", [])]

    async def counts(self) -> dict[str, dict[str, int]]:
        result: dict[str, dict[str, int]] = {}
        for name, queue in self.queues.items():
            raw = await queue.getJobCounts(*COUNT_TYPES)
            counts = {key: int(raw.get(key, 0)) for key in COUNT_TYPES}
            # BullMQ keeps prioritized jobs apart from the wait list; to a user both wait.
            counts["waiting"] += counts.pop("prioritized")
            counts["is_paused"] = int(await queue.isPaused())
            result[name] = counts
        return result

    async def outstanding(self) -> int:
        """Jobs not yet finished in Redis across all queues (waiting, active, delayed...)."""
        total = 0
        for queue in self.queues.values():
            raw = await queue.getJobCounts("waiting", "active", "delayed", "prioritized", "paused")
            total += sum(int(v) for v in raw.values())
        return total

    async def workers(self) -> dict[str, list[dict[str, str]]]:
        """Live workers per queue, found as node bullmq's `getWorkers()` finds them (our
        workers name their connection that way: jobs.mirror.node_client_name), so ours
        and any node worker on the queue count, once each."""
        clients: list[dict[str, Any]] = await self.redis.client_list()
        result: dict[str, list[dict[str, str]]] = {}
        for name in self.queues:
            base = node_client_name(self.prefix, name)
            result[name] = [
                {"id": c["name"], "addr": c.get("addr", ""), "age_s": c.get("age", "")}
                for c in clients
                if c.get("name") == base or str(c.get("name", "")).startswith(f"{base}:w:")
            ]
        return result

    async def pause(self, queue_name: str) -> None:
        await self.queues[queue_name].pause()

    async def resume(self, queue_name: str) -> None:
        await self.queues[queue_name].resume()

    async def request_cancel(self, job_id: str) -> None:
        """Relay a cancel to whichever worker holds the job."""
        await self.redis.publish(self.cancel_channel, job_id)

    async def eviction_policy(self) -> str:
        config = await self.redis.config_get("maxmemory-policy")
        return str(config.get("maxmemory-policy", "unknown"))

    async def close(self) -> None:
        await self._adds.drain()
        for queue in self.queues.values():
            await queue.close()
        await self.redis.aclose()
