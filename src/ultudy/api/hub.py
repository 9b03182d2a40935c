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

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

from ultudy.errors import UltudyError
from ultudy.jobs.events import EventLog, JobEvent

logger = logging.getLogger(__name__)

BLOCK_MS = 1000
READ_COUNT = 500
QUEUE_LIMIT = 1000  # a subscriber this far behind is dropped; it reconnects and replays
BACKLOG_LIMIT = 1000  # events replayed to one reconnecting client, at most
REPLAY_PAGE = 100
READ_CONNECTIONS = 4
READ_POOL_WAIT_S = 10
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
    """One live client. What it missed (after `after`, up to `upto`) is read from the
    stream a page at a time as the client takes it, so a slow or idle client holds one
    page, not its whole backlog."""

    owner_id: str
    log: EventLog
    redis: Redis
    after: str | None
    upto: str
    queue: asyncio.Queue[JobEvent | None] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_LIMIT)
    )
    ended: bool = field(default=False, init=False)
    replaced: bool = field(default=False, init=False)  # its owner opened too many streams
    _page: list[JobEvent] = field(default_factory=list, init=False)
    _replayed: int = field(default=0, init=False)

    async def prefetch(self) -> None:
        """The first page now, so that a broker that cannot answer fails the request."""
        await self._next_page()

    async def events(self) -> AsyncIterator[JobEvent]:
        while self._page and not self.ended:
            page, self._page = self._page, []
            for past in page:
                yield past
            await self._next_page()
        while (live := await self.queue.get()) is not None:
            yield live

    async def _next_page(self) -> None:
        after = self.after
        if (
            after is None
            or self._replayed >= BACKLOG_LIMIT
            or parse_id(after) >= parse_id(self.upto)
        ):
            return
        count = min(REPLAY_PAGE, BACKLOG_LIMIT - self._replayed)
        entries: Any = await self.redis.xrange(
            self.log.key(self.owner_id), min=f"({after}", max=self.upto, count=count
        )
        self._page = [_event(event_id, fields) for event_id, fields in entries]
        self._replayed += len(self._page)
        self.after = self._page[-1].id if self._page else None

    def end(self, *, replaced: bool = False) -> None:
        """Make `events()` stop after what it has queued (if the queue is full, its oldest
        event gives way: the client reconnects and replays)."""
        self.ended, self.replaced = True, replaced
        try:
            self.queue.put_nowait(None)
        except asyncio.QueueFull:
            self.queue.get_nowait()
            self.queue.put_nowait(None)


class EventHub:
    def __init__(self, redis_url: str, log: EventLog, *, max_per_owner: int = 5) -> None:
        self.redis_url = redis_url
        self.log = log
        self.max_per_owner = max_per_owner
        # Subscribing reads the stream (its newest id, the first replay page). On a pool of
        # its own, a burst of a thousand reconnecting browsers waits for a few connections
        # instead of opening a hundred that the shared pool then keeps for good.
        self._reads = Redis.from_pool(
            BlockingConnectionPool.from_url(
                redis_url,
                decode_responses=True,
                max_connections=READ_CONNECTIONS,
                timeout=READ_POOL_WAIT_S,
            )
        )
        # Per owner, its subscriptions oldest first (a dict keeps insertion order).
        self._subs: dict[str, dict[Subscription, None]] = {}
        self._cursors: dict[str, str] = {}
        self._task: asyncio.Task[None] | None = None
        self._new_owner = asyncio.Event()

    async def subscribe(self, owner_id: str, last_event_id: str | None) -> Subscription:
        """Live events of `owner_id`, after replaying those since `last_event_id`. The
        owner's oldest subscription beyond `max_per_owner` is ended (`replaced`).

        A malformed id is an `InvalidEventIdError`; a well-formed one past the stream's end
        (another stream's, or from before the stream expired) replays nothing."""
        if last_event_id:
            parse_id(last_event_id)
        if owner_id not in self._cursors:
            newest = await self._last_id(owner_id)
            if owner_id not in self._cursors:  # no await from here to `_add`
                self._cursors[owner_id] = newest
                self._new_owner.set()  # the blocked read must start watching this stream
        sub = Subscription(
            owner_id=owner_id,
            log=self.log,
            redis=self._reads,
            after=last_event_id or None,
            upto=self._cursors[owner_id],
        )
        self._add(sub)
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="event-hub")
        try:
            await sub.prefetch()
        except BaseException:
            self.unsubscribe(sub)
            raise
        return sub

    def _add(self, sub: Subscription) -> None:
        """Registered before its replay is read: what arrives meanwhile is queued, and the
        replay stops where the queue starts (`upto`)."""
        subs = self._subs.setdefault(sub.owner_id, {})
        subs[sub] = None
        while len(subs) > self.max_per_owner:
            oldest = next(iter(subs))
            logger.info(
                "%s opened more than %d streams; closing its oldest",
                sub.owner_id,
                self.max_per_owner,
            )
            self.unsubscribe(oldest)
            oldest.end(replaced=True)

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.owner_id)
        if subs is None:
            return
        subs.pop(sub, None)
        if not subs:
            del self._subs[sub.owner_id]
            self._cursors.pop(sub.owner_id, None)

    @property
    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subs.values())

    @property
    def owners_watched(self) -> int:
        """Owners with a subscription or a stream cursor (both 0 when nobody listens)."""
        return len(self._subs.keys() | self._cursors.keys())

    async def _last_id(self, owner_id: str) -> str:
        newest: Any = await self._reads.xrevrange(self.log.key(owner_id), count=1)
        return str(newest[0][0]) if newest else "0-0"

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
        for sub in list(self._subs.get(owner_id, {})):
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                logger.warning("dropping a subscriber of %s that fell behind", owner_id)
                self.unsubscribe(sub)
                sub.end()

    async def close(self) -> None:
        for subs in list(self._subs.values()):
            for sub in list(subs):
                sub.end()
        self._subs.clear()
        self._cursors.clear()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, RedisError):
                await task
        await self._reads.aclose()


def _event(event_id: Any, fields: dict[str, str]) -> JobEvent:
    body = json.loads(fields["d"])
    return JobEvent(id=str(event_id), type=body.pop("type"), data=body)
