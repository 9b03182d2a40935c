"""The per-owner event log: one Redis stream per owner, bounded in length and in time.

Whichever process changes a job appends the change here; the API's SSE and WebSocket
endpoints read it, and a reconnecting client resumes from its `Last-Event-ID`.
"""

from __future__ import annotations

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
# The same call carries the worker's mirror of a job onto its BullMQ job (jobs.mirror),
# written as BullMQ's own updateProgress / addLog scripts write them, and only while the
# BullMQ job exists: progress ('p'), a log line ('l'), and progress 100 with a completion
# event (its second key is then the BullMQ job's, not the stream again).
# KEYS: two per item, then the announced set. ARGV: maxlen, ttl_s, now_ms, keep_ms, then
# three per item: its op ('e' event, 'p', 'l') and two values (event: payload and its job
# id if it is terminal, else ""; 'p': progress and job id; 'l': line and lines kept).
# Returns each item's event id, "" for one that was out already or is not an event.
APPEND_SCRIPT = """
local announced = KEYS[#KEYS]
local ids = {}
local seen = {}
local once_used = false
for i = 1, (#KEYS - 1) / 2 do
  local op, a, b = ARGV[2 + 3 * i], ARGV[3 + 3 * i], ARGV[4 + 3 * i]
  local key, other = KEYS[2 * i - 1], KEYS[2 * i]
  ids[i] = ''
  if op == 'e' then
    if b == '' or redis.call('ZADD', announced, 'NX', ARGV[3], b) == 1 then
      ids[i] = redis.call('XADD', key, 'MAXLEN', '~', ARGV[1], '*', 'd', a)
    end
    if other ~= key and redis.call('EXISTS', other) == 1 then
      redis.call('HSET', other, 'progress', 100)
    end
    if b ~= '' then once_used = true end
    if not seen[key] then
      seen[key] = true
      redis.call('EXPIRE', key, ARGV[2])
    end
  elseif redis.call('EXISTS', key) == 1 then
    if op == 'p' then
      redis.call('HSET', key, 'progress', a)
      redis.call('XADD', other, 'MAXLEN', '~', 10000, '*', 'event', 'progress', 'jobId', b,
        'data', a)
    else
      redis.call('RPUSH', other, a)
      redis.call('LTRIM', other, -tonumber(b), -1)
    end
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
# (op, two keys, two values): see APPEND_SCRIPT
Item = tuple[str, str, str, str, str]
# log lines a BullMQ job keeps (the newest)
MIRROR_LOG_LINES = 200


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
            self._append_many, name="events", linger_s=linger_s, on_lost=_log_lost
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
        item = _item(self.key(owner_id), kind, data)
        self._batch.post(item)

    def publish_job(self, kind: str, record: JobRecord) -> None:
        self.publish(record.owner_id, kind, event_payload(kind, record))

    def publish_completed(self, record: JobRecord, queue: str | None) -> None:
        """`job.completed`, and with a `queue`, progress 100 on the BullMQ job, as the row
        says (in the same item: the completion of every job does this)."""
        item = _item(
            self.key(record.owner_id), "job.completed", event_payload("job.completed", record)
        )
        if queue is not None:
            item = (*item[:2], f"{self.prefix}:{queue}:{record.id}", *item[3:])
        self._batch.post(item)

    def mirror_progress(self, queue: str, job_id: str, progress: int) -> None:
        """Set a BullMQ job's progress and add its `progress` queue event, with the events."""
        job_key = f"{self.prefix}:{queue}:{job_id}"
        item = ("p", job_key, f"{self.prefix}:{queue}:events", str(progress), job_id)
        self._batch.post(item)

    def mirror_log(self, queue: str, job_id: str, line: str) -> None:
        """Append a line to a BullMQ job's log (`job.log`), with the events."""
        job_key = f"{self.prefix}:{queue}:{job_id}"
        item = ("l", job_key, f"{job_key}:logs", line, str(MIRROR_LOG_LINES))
        self._batch.post(item)

    async def _append_many(self, items: list[Item]) -> list[str]:
        keys: list[str] = []
        args: list[str | int] = [
            self.maxlen,
            self.ttl_s,
            int(time.time() * 1000),
            ANNOUNCED_KEEP_S * 1000,
        ]
        for op, key, other, a, b in items:
            keys += [key, other]
            args += [op, a, b]
        keys.append(self.announced_key)
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


def _item(stream: str, kind: str, data: dict[str, Any]) -> Item:
    payload = json.dumps({"type": kind, **data}, separators=(",", ":"), default=str)
    job_id = (data.get("job") or {}).get("id") if kind in TERMINAL_EVENTS else None
    once = "" if job_id is None else str(job_id)
    return "e", stream, stream, payload, once


def _log_lost(count: int, exc: Exception) -> None:
    logger.warning("could not publish %d event(s)", count, exc_info=exc)
