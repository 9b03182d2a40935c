"""Fan-out of the per-owner event streams to this API process's live clients.

One reader task and one Redis connection serve every subscriber of the process: a single
blocking XREAD over all watched owners' streams, dispatched to in-process queues. A
thousand idle browsers cost a thousand small queues, not a thousand Redis connections or
blocked commands. A new owner interrupts the blocked read so that it joins at once; the
stream keeps what was appended meanwhile, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ultudy.errors import UltudyError
from ultudy.jobs.events import EventLog, JobEvent

logger = logging.getLogger(__name__)

BLOCK_MS = 1000
READ_COUNT = 500
QUEUE_LIMIT = 1000  # a subscriber this far behind is dropped; it reconnects and replays
BACKLOG_LIMIT = 1000
RETRY_DELAY_S = 1.0
EVENT_ID_RE = re.compile(r"([0-9]{1,20})-([0-9]{1,20})")
MAX_ID_PART = 2**64 - 1


class InvalidEventIdError(UltudyError):
    """Last-Event-ID (or last_event_id) must be an event id you were sent, like 1700000000000-0."""


def parse_id(event_id: str) -> tuple[int, int]:
    """A stream entry id `ms-seq` as numbers. Anything else is refused, also what `int()`
    would take (`1_0`) and parts over 64 bits: Redis would reject them mid-replay."""
    match = EVENT_ID_RE.fullmatch(event_id)
    if match is None or max(int(match[1]), int(match[2])) > MAX_ID_PART:
        raise InvalidEventIdError()
    return int(match[1]), int(match[2])


@dataclass(eq=False)
class Subscription:
    owner_id: str
    backlog: list[JobEvent]
    queue: asyncio.Queue[JobEvent | None] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_LIMIT)
    )

    async def events(self) -> AsyncIterator[JobEvent]:
        for past in self.backlog:
            yield past
        while (live := await self.queue.get()) is not None:
            yield live


class EventHub:
    def __init__(self, redis_url: str, log: EventLog) -> None:
        self.redis_url = redis_url
        self.log = log
        self._subs: dict[str, set[Subscription]] = {}
        self._cursors: dict[str, str] = {}
        self._task: asyncio.Task[None] | None = None
        self._new_owner = asyncio.Event()

    async def subscribe(self, owner_id: str, last_event_id: str | None) -> Subscription:
        """Live events of `owner_id`, after replaying those since `last_event_id`.

        A malformed id is an `InvalidEventIdError`; a well-formed one past the stream's end
        (another stream's, or from before the stream expired) replays nothing."""
        if last_event_id is not None:
            parse_id(last_event_id)
        if owner_id not in self._cursors:
            self._cursors[owner_id] = await self._last_id(owner_id)
            self._new_owner.set()  # the blocked read must start watching this stream too
        cursor = self._cursors[owner_id]
        try:
            backlog = await self._replay(owner_id, last_event_id, cursor)
        except RedisError:
            if owner_id not in self._subs:  # no subscriber: stop watching its stream
                self._cursors.pop(owner_id, None)
            raise
        sub = Subscription(owner_id=owner_id, backlog=backlog)
        self._subs.setdefault(owner_id, set()).add(sub)
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="event-hub")
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.owner_id)
        if subs is None:
            return
        subs.discard(sub)
        if not subs:
            del self._subs[sub.owner_id]
            self._cursors.pop(sub.owner_id, None)

    @property
    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subs.values())

    async def _last_id(self, owner_id: str) -> str:
        newest: Any = await self.log.redis.xrevrange(self.log.key(owner_id), count=1)
        return str(newest[0][0]) if newest else "0-0"

    async def _replay(self, owner_id: str, after: str | None, upto: str) -> list[JobEvent]:
        if after is None or parse_id(after) >= parse_id(upto):
            return []
        entries: Any = await self.log.redis.xrange(
            self.log.key(owner_id), min=f"({after}", max=upto, count=BACKLOG_LIMIT
        )
        return [_event(event_id, fields) for event_id, fields in entries]

    async def _run(self) -> None:
        conn = Redis.from_url(self.redis_url, decode_responses=True)
        try:
            while True:
                if not self._subs:
                    # Cleared with no await after the check: a subscriber arriving from
                    # now on starts a new reader instead of joining this closing one.
                    self._task = None
                    return
                try:
                    await self._read_once(conn)
                except RedisError:
                    logger.warning("event hub lost the broker; retrying", exc_info=True)
                    await asyncio.sleep(RETRY_DELAY_S)
        finally:
            await conn.aclose()

    async def _read_once(self, conn: Redis) -> None:
        self._new_owner.clear()
        streams: dict[Any, Any] = {
            self.log.key(owner): cursor for owner, cursor in self._cursors.items()
        }
        read = asyncio.ensure_future(conn.xread(streams, count=READ_COUNT, block=BLOCK_MS))
        woken = asyncio.ensure_future(self._new_owner.wait())
        await asyncio.wait({read, woken}, return_when=asyncio.FIRST_COMPLETED)
        woken.cancel()
        if not read.done():
            # A new owner: drop this read (redis-py resets the connection) and start over.
            read.cancel()
            with contextlib.suppress(asyncio.CancelledError, RedisError):
                await read
            return
        reply: Any = read.result()
        prefix_len = len(self.log.key(""))
        for key, entries in reply or []:
            owner_id = key[prefix_len:]
            if owner_id not in self._cursors:
                continue
            for event_id, fields in entries:
                self._cursors[owner_id] = str(event_id)
                self._dispatch(owner_id, _event(event_id, fields))

    def _dispatch(self, owner_id: str, event: JobEvent) -> None:
        for sub in list(self._subs.get(owner_id, ())):
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                logger.warning("dropping a subscriber of %s that fell behind", owner_id)
                self.unsubscribe(sub)
                with contextlib.suppress(asyncio.QueueFull):
                    sub.queue.get_nowait()
                    sub.queue.put_nowait(None)

    async def close(self) -> None:
        for subs in list(self._subs.values()):
            for sub in list(subs):
                with contextlib.suppress(asyncio.QueueFull):
                    sub.queue.put_nowait(None)
        self._subs.clear()
        self._cursors.clear()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, RedisError):
                await task


def _event(event_id: Any, fields: dict[str, str]) -> JobEvent:
    body = json.loads(fields["d"])
    return JobEvent(id=str(event_id), type=body.pop("type"), data=body)
