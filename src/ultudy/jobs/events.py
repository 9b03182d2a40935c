"""The per-owner event log: one Redis stream per owner, bounded in length and in time.

Whichever process changes a job appends the change here; the API's SSE and WebSocket
endpoints read it, and a reconnecting client resumes from its `Last-Event-ID`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ultudy.jobs.store import JobRecord

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class JobEvent:
    id: str
    type: str
    data: dict[str, Any]


def event_payload(kind: str, record: JobRecord) -> dict[str, Any]:
    return {"event": kind, "job": record.to_public()}


class EventLog:
    def __init__(self, redis: Redis, *, prefix: str, maxlen: int, ttl_s: int) -> None:
        self.redis = redis
        self.prefix = prefix
        self.maxlen = maxlen
        self.ttl_s = ttl_s

    def key(self, owner_id: str) -> str:
        return f"{self.prefix}:events:{owner_id}"

    async def publish(self, owner_id: str, kind: str, data: dict[str, Any]) -> str | None:
        """Append an event; a broker hiccup must not fail the job, so it is logged only."""
        key = self.key(owner_id)
        payload = json.dumps({"type": kind, **data}, separators=(",", ":"), default=str)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.xadd(key, {"d": payload}, maxlen=self.maxlen, approximate=True)
                pipe.expire(key, self.ttl_s)
                event_id, _ = await pipe.execute()
        except RedisError:
            logger.warning("could not publish %s for owner %s", kind, owner_id, exc_info=True)
            return None
        return str(event_id)

    async def publish_job(self, kind: str, record: JobRecord) -> str | None:
        return await self.publish(record.owner_id, kind, event_payload(kind, record))

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
