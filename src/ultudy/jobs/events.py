"""The per-owner event log: one Redis stream per owner, bounded in length and in time.

Whichever process changes a job appends the change here; the API's SSE and WebSocket
endpoints read it, and a reconnecting client resumes from its `Last-Event-ID`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from ultudy.jobs.batching import GroupCommit
from ultudy.jobs.record import JobRecord

logger = logging.getLogger(__name__)

# Appends a batch of events (one per key) and pushes back each stream's expiry, in one
# command: cheaper to send and to parse than a pipeline of XADDs and EXPIREs.
# ARGV: maxlen, ttl_s, then one payload per key.
APPEND_SCRIPT = """
local ids = {}
local seen = {}
for i, key in ipairs(KEYS) do
  ids[i] = redis.call('XADD', key, 'MAXLEN', '~', ARGV[1], '*', 'd', ARGV[i + 2])
end
for _, key in ipairs(KEYS) do
  if not seen[key] then
    seen[key] = true
    redis.call('EXPIRE', key, ARGV[2])
  end
end
return ids
"""


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
        self._batch: GroupCommit[tuple[str, str], str] = GroupCommit(
            self._append_many, name="events", linger_s=linger_s
        )

    def key(self, owner_id: str) -> str:
        return f"{self.prefix}:events:{owner_id}"

    def publish(self, owner_id: str, kind: str, data: dict[str, Any]) -> None:
        """Queue an event: the order of publishes is the order in the stream. A broker
        hiccup must not fail the job, so it is logged only."""
        payload = json.dumps({"type": kind, **data}, separators=(",", ":"), default=str)
        self._batch.submit_nowait((owner_id, payload)).add_done_callback(_log_failure)

    def publish_job(self, kind: str, record: JobRecord) -> None:
        self.publish(record.owner_id, kind, event_payload(kind, record))

    async def _append_many(self, items: list[tuple[str, str]]) -> list[str]:
        keys = [self.key(owner_id) for owner_id, _ in items]
        args: list[str | int] = [self.maxlen, self.ttl_s, *(payload for _, payload in items)]
        replies: list[Any] = await self._append(keys=keys, args=args)
        return [str(event_id) for event_id in replies]

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
        events: list[JobEvent] = []
        for _key, entries in reply or []:
            for event_id, fields in entries:
                body = json.loads(fields["d"])
                events.append(JobEvent(id=str(event_id), type=body.pop("type"), data=body))
        return events


def _log_failure(future: asyncio.Future[str]) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.warning("could not publish an event", exc_info=future.exception())
