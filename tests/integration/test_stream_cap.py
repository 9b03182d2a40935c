"""Live streams per user: the oldest beyond `ULTUDY_MAX_STREAMS_PER_USER` is closed with a
`stream.replaced` message (SSE and WebSocket alike), other users are untouched, and
nothing of a closed stream stays in the hub."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from redis.asyncio import Redis

from tests.support.backends import Backend
from tests.support.harness import api_server, eventually, sse_events
from ultudy.api.hub import REPLAY_PAGE, EventHub
from ultudy.jobs.events import EventLog

pytestmark = pytest.mark.slow
ALICE = {"x-user-id": "alice"}
BOB = {"x-user-id": "bob"}


@asynccontextmanager
async def hub_on(
    backend: Backend, *, max_per_owner: int
) -> AsyncIterator[tuple[EventHub, EventLog]]:
    redis = Redis.from_url(backend.redis_url, decode_responses=True)
    log = EventLog(redis, prefix=backend.prefix, maxlen=1000, ttl_s=60)
    hub = EventHub(backend.redis_url, log, max_per_owner=max_per_owner)
    try:
        yield hub, log
    finally:
        await hub.close()
        await log.drain()
        await redis.delete(log.key("alice"), log.key("bob"))
        await redis.aclose()


async def test_the_oldest_subscription_beyond_the_cap_ends_and_others_are_untouched(
    backend: Backend,
) -> None:
    async with hub_on(backend, max_per_owner=2) as (hub, log):
        first, second = await hub.subscribe("alice", None), await hub.subscribe("alice", None)
        bob = await hub.subscribe("bob", None)
        third = await hub.subscribe("alice", None)
        assert first.replaced
        assert not second.replaced
        assert not third.replaced
        assert [e async for e in first.events()] == []  # ends at once
        assert hub.subscriber_count == 3
        log.publish("alice", "job.created", {"job": {"id": "a"}})
        log.publish("bob", "job.created", {"job": {"id": "b"}})
        for sub, job in ((second, "a"), (third, "a"), (bob, "b")):
            event = await asyncio.wait_for(anext(aiter(sub.events())), 3)
            assert event.data["job"]["id"] == job
        for sub in (second, third, bob):
            hub.unsubscribe(sub)
        assert (hub.subscriber_count, hub.owners_watched) == (0, 0)


async def test_a_long_replay_comes_in_pages_in_order_then_live(backend: Backend) -> None:
    async with hub_on(backend, max_per_owner=5) as (hub, log):
        total = REPLAY_PAGE * 2 + 5
        for n in range(total):
            log.publish("alice", "job.progress", {"n": n})
        await log.drain()
        first = (await log.read("alice", after="0", block_ms=None))[0]
        sub = await hub.subscribe("alice", first.id)
        assert len(sub._page) == REPLAY_PAGE  # one page held, not the whole backlog
        log.publish("alice", "job.progress", {"n": total})
        seen: list[int] = []
        async for event in sub.events():
            seen.append(event.data["n"])
            if len(seen) == total:
                break
        assert seen == list(range(1, total + 1))
        hub.unsubscribe(sub)
        assert hub.owners_watched == 0


async def read_until_end(client: httpx.AsyncClient, ready: asyncio.Queue[None]) -> list[Any]:
    events = []
    async with client.stream("GET", "/jobs/events", headers=ALICE) as response:
        assert response.status_code == 200
        await ready.put(None)
        async for event in sse_events(response):
            events.append(event)
    return events


async def test_the_sixth_stream_of_a_user_closes_the_first_websocket_or_sse(
    backend: Backend, tmp_path: Path
) -> None:
    with api_server(backend.env(), tmp_path / "api.log") as base:
        ws_url = base.replace("http", "ws") + "/jobs/ws"
        async with (
            httpx.AsyncClient(base_url=base, timeout=20) as client,
            websockets.connect(ws_url, additional_headers=ALICE) as ws,
            websockets.connect(ws_url, additional_headers=BOB) as bob_ws,
        ):
            ready: asyncio.Queue[None] = asyncio.Queue()

            async def open_sse() -> asyncio.Task[list[Any]]:
                task = asyncio.create_task(read_until_end(client, ready))
                await asyncio.wait_for(ready.get(), 10)
                return task

            sse = [await open_sse() for _ in range(5)]  # with the socket: alice's 6th
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert message["type"] == "stream.replaced"
            assert "more than 5 live streams" in message["data"]["detail"]
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4429
            sse.append(await open_sse())  # a 7th: the oldest SSE stream ends
            events = await asyncio.wait_for(sse[0], 10)
            assert [e["event"] for e in events] == ["stream.replaced"]
            assert not any(task.done() for task in sse[1:])
            assert bob_ws.state is websockets.State.OPEN

            async def live() -> int:
                overview = await client.get("/admin/api/overview", headers=ALICE)
                return int(overview.json()["live_clients"])

            await eventually(live, lambda n: n == 6)  # alice's 5 and bob's socket
            for task in sse[1:]:
                task.cancel()
            await asyncio.gather(*sse[1:], return_exceptions=True)
            await eventually(live, lambda n: n == 1)
