"""The per-owner event log: one Redis stream per owner, bounded in length and in time.

Whichever process changes a job appends the change here; the API's SSE and WebSocket
endpoints read it, and a reconnecting client resumes from its `Last-Event-ID`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from ultudy.jobs.batching import GroupCommit
from ultudy.jobs.record import JobRecord

logger = logging.getLogger(__name__)

# Appends a batch of events (one per stream key) and pushes back each stream's expiry, in
# one command: cheaper to send and to parse than a pipeline of XADDs and EXPIREs.
# A job's terminal event (completed, failed, cancelled) goes out once: it is appended only
# if its job id joins the "announced" set (the last key, scored by time) in the same call.
# The reconciler reads that set to find terminal rows whose event was lost (the process
# died between the row's write and the event), and publishes theirs through here too.
# ARGV: maxlen, ttl_s, now_ms, keep_ms, then per event its payload and its job id if it
# is terminal (else ""). Returns each event's id, "" for one that was out already.
APPEND_SCRIPT = """
local announced = KEYS[#KEYS]
local ids = {}
local seen = {}
local once_used = false
for i = 1, #KEYS - 1 do
  local once = ARGV[4 + 2 * i]
  if once == '' or redis.call('ZADD', announced, 'NX', ARGV[3], once) == 1 then
    ids[i] = redis.call('XADD', KEYS[i], 'MAXLEN', '~', ARGV[1], '*', 'd', ARGV[3 + 2 * i])
  else
    ids[i] = ''
  end
  if once ~= '' then once_used = true end
  if not seen[KEYS[i]] then
    seen[KEYS[i]] = true
    redis.call('EXPIRE', KEYS[i], ARGV[2])
  end
end
if once_used then
  redis.call('ZREMRANGEBYSCORE', announced, '-inf', ARGV[3] - ARGV[4])
  redis.call('PEXPIRE', announced, ARGV[4])
end
return ids
"""
# The events that end a job: one each, at most, per job (see APPEND_SCRIPT).
TERMINAL_EVENTS = frozenset({"job.completed", "job.failed", "job.cancelled"})
# How long a job stays in the announced set: longer than the reconciler looks back
# (jobs.announce.RECOVER_WITHIN_S) for rows whose terminal event is missing.
ANNOUNCED_KEEP_S = 300
# job ids one ZMSCORE asks about
ANNOUNCED_PAGE = 1000
# (owner, payload, job id if the event is terminal else "")
Item = tuple[str, str, str]


@dataclass(frozen=True, kw_only=True)
class JobEvent:
    id: str
    type: str
    data: dict[str, Any]


def event_payload(kind: str, record: JobRecord) -> dict[str, Any]:
    return {"event": kind, "job": record.to_public()}


class EventLog:
    """Publishes are queued, not awaited: a job does not wait for its watchers. Concurrent
    publishes of one process share one round trip; with `linger_s`, a publish waits up to
    that long for company."""

    def __init__(
        self, redis: Redis, *, prefix: str, maxlen: int, ttl_s: int, linger_s: float = 0.0
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.maxlen = maxlen
        self.ttl_s = ttl_s
        self._append = redis.register_script(APPEND_SCRIPT)
        self._batch: GroupCommit[Item, str] = GroupCommit(
            self._append_many, name="events", linger_s=linger_s
        )

    def key(self, owner_id: str) -> str:
        return f"{self.prefix}:events:{owner_id}"

    @property
    def announced_key(self) -> str:
        # not under `events:`, where every key is an owner's stream
        return f"{self.prefix}:announced"

    def publish(self, owner_id: str, kind: str, data: dict[str, Any]) -> None:
        """Queue an event: the order of publishes is the order in the stream (a job's
        terminal event that was out already is dropped there). A broker hiccup must not
        fail the job, so it is logged only."""
        self._batch.submit_nowait(_item(owner_id, kind, data)).add_done_callback(_log_failure)

    def publish_job(self, kind: str, record: JobRecord) -> None:
        self.publish(record.owner_id, kind, event_payload(kind, record))

    async def _append_many(self, items: list[Item]) -> list[str]:
        keys = [*(self.key(owner_id) for owner_id, _, _ in items), self.announced_key]
        args: list[str | int] = [
            self.maxlen,
            self.ttl_s,
            int(time.time() * 1000),
            ANNOUNCED_KEEP_S * 1000,
        ]
        for _, payload, once in items:
            args += [payload, once]
        replies: list[Any] = await self._append(keys=keys, args=args)
        return [str(event_id) for event_id in replies]

    async def unannounced(self, job_ids: list[str]) -> list[str]:
        """Those of `job_ids` whose terminal event has not gone out (within the last
        ANNOUNCED_KEEP_S)."""
        missing: list[str] = []
        for start in range(0, len(job_ids), ANNOUNCED_PAGE):
            page = job_ids[start : start + ANNOUNCED_PAGE]
            scores: list[Any] = await self.redis.zmscore(self.announced_key, page)
            missing += [job_id for job_id, score in zip(page, scores, strict=True) if score is None]
        return missing

    async def drain(self) -> None:
        """Wait until every queued event is written (at shutdown)."""
        await self._batch.drain()

    async def read(
        self, owner_id: str, *, after: str, block_ms: int | None, count: int = 100
    ) -> list[JobEvent]:
        """Events after the id `after` ("$" for only new ones), waiting up to `block_ms`."""
        reply: Any = await self.redis.xread(
            {self.key(owner_id): after}, count=count, block=block_ms
        )
        return [
            _event(event_id, fields)
            for _key, entries in reply or []
            for event_id, fields in entries
        ]

    async def of_job(self, owner_id: str, job_id: str) -> list[JobEvent]:
        """The job's events still in its owner's log (the latest `maxlen` of that
        owner's events), oldest first: for an operator's look at one job."""
        reply: Any = await self.redis.xrevrange(self.key(owner_id), count=self.maxlen)
        found: list[JobEvent] = []
        for event_id, fields in reversed(reply or []):
            if job_id not in fields["d"]:
                continue  # most of the log is other jobs': skip them unparsed
            event = _event(event_id, fields)
            if (event.data.get("job") or {}).get("id") == job_id:
                found.append(event)
        return found


def _event(event_id: Any, fields: dict[str, str]) -> JobEvent:
    body = json.loads(fields["d"])
    return JobEvent(id=str(event_id), type=body.pop("type"), data=body)


def _item(owner_id: str, kind: str, data: dict[str, Any]) -> Item:
    payload = json.dumps({"type": kind, **data}, separators=(",", ":"), default=str)
    job_id = (data.get("job") or {}).get("id") if kind in TERMINAL_EVENTS else None
    once = "" if job_id is None else str(job_id)
    return owner_id, payload, once


def _log_failure(future: asyncio.Future[str]) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.warning("could not publish an event", exc_info=future.exception())
