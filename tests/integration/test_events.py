"""The push channel against a real API process: SSE for all jobs and for one job, replay
with Last-Event-ID, owner isolation, the WebSocket, and no subscription outliving its client.

sse-starlette's process-global shutdown flag needs no reset here: every test runs its own
API process.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from redis.asyncio import Redis
from websockets.exceptions import InvalidStatus

from tests.support.backends import Backend
from tests.support.harness import (
    api,
    api_server,
    eventually,
    sse_events,
    start_worker,
    stop,
)
from ultudy.api import hub as hub_module
from ultudy.api.hub import EventHub
from ultudy.api.state import AppState
from ultudy.jobs.events import EventLog
from ultudy.kinds import JobType

pytestmark = pytest.mark.slow
ALICE = {"x-user-id": "alice"}
BOB = {"x-user-id": "bob"}
SLOW_JOB = {"steps": 4, "sleep_ms": 150}
Event = dict[str, Any]


def ends_job(job_id: str) -> Callable[[Event], bool]:
    return lambda e: e["data"]["job"]["id"] == job_id and e["event"] == "job.completed"


def stream_order(event_id: str) -> tuple[int, ...]:
    return tuple(map(int, event_id.split("-")))


@contextmanager
def live_system(backend: Backend, tmp_path: Path) -> Iterator[str]:
    """A real API process and a real worker; yields the API's base URL."""
    with api_server(backend.env(), tmp_path / "api.log") as base:
        worker = start_worker(backend.env(), log=tmp_path / "worker.log")
        try:
            yield base
        finally:
            stop(worker)


@asynccontextmanager
async def clients(backend: Backend, base: str) -> AsyncIterator[tuple[httpx.AsyncClient, AppState]]:
    """An HTTP client of the API process, and an in-process service to submit jobs with."""
    async with (
        api(backend.settings()) as (_asgi, state),
        httpx.AsyncClient(base_url=base, timeout=30) as client,
    ):
        yield client, state


async def listen(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    *,
    until: Callable[[Event], bool] | None,
    limit_s: float = 20,
) -> tuple[asyncio.Task[list[Event]], asyncio.Event]:
    """Start reading a stream; the returned flag is set once the server has answered, which
    is after it subscribed: anything published from then on reaches this reader."""
    opened = asyncio.Event()

    async def read() -> list[Event]:
        events: list[Event] = []
        async with client.stream("GET", url, headers=headers) as response:
            assert response.status_code == 200, await response.aread()
            opened.set()
            async for event in sse_events(response, until=until):
                events.append(event)
        return events

    task = asyncio.create_task(asyncio.wait_for(read(), limit_s))
    waiter = asyncio.create_task(opened.wait())
    await asyncio.wait([task, waiter], timeout=limit_s, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if task.done():
        task.result()  # raise what went wrong
    return task, opened


async def collect(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    *,
    until: Callable[[Event], bool] | None,
) -> list[Event]:
    task, _opened = await listen(client, url, headers, until=until)
    return await task


async def live_clients(client: httpx.AsyncClient) -> int:
    body = (await client.get("/admin/api/overview", headers=ALICE)).json()
    count: int = body["live_clients"]
    return count


async def test_all_jobs_stream_in_order_then_replay_after_a_reconnect(
    backend: Backend, tmp_path: Path
) -> None:
    with live_system(backend, tmp_path) as base:
        async with clients(backend, base) as (client, state):
            task, _ = await listen(
                client, "/jobs/events", ALICE, until=lambda e: e["event"] == "job.completed"
            )
            record = await state.jobs.submit("alice", JobType.LESSON_GENERATION, SLOW_JOB)
            events = await task
            kinds = [e["event"] for e in events if e["data"]["job"]["id"] == str(record.id)]
            assert kinds == [
                "job.created",
                "job.processing",
                *["job.progress"] * 4,
                "job.completed",
            ]
            progress = [e["data"]["job"]["progress"] for e in events[2:6]]
            assert progress == [25, 50, 75, 100]
            ids = [e["id"] for e in events]
            assert ids == sorted(ids, key=stream_order)
            # Reconnect as if the connection dropped after the "processing" event: by the
            # header (EventSource's own reconnect) and by the query (a new EventSource).
            header = await collect(
                client,
                "/jobs/events",
                {**ALICE, "Last-Event-ID": ids[1]},
                until=ends_job(str(record.id)),
            )
            assert [e["id"] for e in header] == ids[2:]
            query = await collect(
                client,
                f"/jobs/events?last_event_id={ids[4]}",
                ALICE,
                until=ends_job(str(record.id)),
            )
            assert [e["id"] for e in query] == ids[5:]


async def test_one_job_stream_ends_with_the_job_and_is_private(
    backend: Backend, tmp_path: Path
) -> None:
    with live_system(backend, tmp_path) as base:
        async with clients(backend, base) as (client, state):
            await state.queues.pause("material-upload")  # the job waits for its watchers
            record = await state.jobs.submit("alice", JobType.MATERIAL_UPLOAD, SLOW_JOB)
            url = f"/jobs/{record.id}/events"
            assert (await client.get(url, headers=BOB)).status_code == 404
            bob, _ = await listen(client, "/jobs/events", BOB, until=None)
            alice, _ = await listen(client, url, ALICE, until=None)
            await state.queues.resume("material-upload")
            events = await alice  # ends by itself
            assert events[0]["event"] == "job.snapshot"
            assert events[0]["data"]["job"]["status"] == "pending"
            assert [e["event"] for e in events[-2:]] == ["job.progress", "job.completed"]
            assert events[-1]["data"]["job"]["result_data"]["steps"] == 4
            done = await collect(client, url, ALICE, until=None)
            assert [e["event"] for e in done] == ["job.snapshot"]
            assert done[0]["data"]["job"]["status"] == "completed"
            assert not bob.done()  # still connected, and nothing of alice's came
            bob.cancel()


async def test_a_job_that_starts_and_ends_in_one_write_shows_only_its_end(
    backend: Backend, tmp_path: Path
) -> None:
    """A few-ms job's processing/progress events would arrive with its completion; they
    are dropped (as throttled progress is), and the stream still ends with the result."""
    with live_system(backend, tmp_path) as base:
        async with clients(backend, base) as (client, state):
            task, _ = await listen(
                client, "/jobs/events", ALICE, until=lambda e: e["event"] == "job.completed"
            )
            record = await state.jobs.submit("alice", JobType.CHECK_IN_EVALUATION, {"steps": 3})
            events = await task
            mine = [e for e in events if e["data"]["job"]["id"] == str(record.id)]
            assert [e["event"] for e in mine] == ["job.created", "job.completed"]
            assert mine[-1]["data"]["job"]["progress"] == 100
            assert mine[-1]["data"]["job"]["result_data"]["steps"] == 3


async def test_no_identity_is_401(backend: Backend, tmp_path: Path) -> None:
    with live_system(backend, tmp_path) as base:
        async with clients(backend, base) as (client, state):
            record = await state.jobs.submit("alice", JobType.MATERIAL_UPLOAD, {})
            assert (await client.get("/jobs/events")).status_code == 401
            assert (await client.get(f"/jobs/{record.id}/events")).status_code == 401
            bad = await client.get("/jobs/events", headers={"x-user-id": "a b"})
            assert bad.status_code == 401
        url = base.replace("http", "ws") + "/jobs/ws"
        with pytest.raises(InvalidStatus) as refused:
            async with websockets.connect(url):
                pass
        assert refused.value.response.status_code == 401


async def test_websocket_delivers_the_same_events_to_its_owner_only(
    backend: Backend, tmp_path: Path
) -> None:
    with live_system(backend, tmp_path) as base:
        async with clients(backend, base) as (client, state):
            url = base.replace("http", "ws") + "/jobs/ws"
            cookie = {"cookie": "ultudy_session=alice", "origin": base}  # what a browser sends
            async with (
                websockets.connect(url, additional_headers=cookie) as ws,
                websockets.connect(url, additional_headers=BOB) as bob,
            ):
                await eventually(lambda: live_clients(client), lambda n: n == 2)
                record = await state.jobs.submit(
                    "alice", JobType.CHECK_IN_EVALUATION, {"steps": 2, "sleep_ms": 50}
                )
                messages: list[Event] = []
                while not messages or messages[-1]["type"] != "job.completed":
                    messages.append(json.loads(await asyncio.wait_for(ws.recv(), 20)))
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(bob.recv(), 0.5)
            assert {m["data"]["job"]["id"] for m in messages} == {str(record.id)}
            assert [m["type"] for m in messages] == [
                "job.created",
                "job.processing",
                "job.progress",
                "job.progress",
                "job.completed",
            ]
            assert messages == sorted(messages, key=lambda m: stream_order(m["id"]))


async def test_no_subscription_outlives_its_client(backend: Backend, tmp_path: Path) -> None:
    """Idle clients that leave free their place in the hub at once, not at the owner's
    next event (which may never come)."""
    with live_system(backend, tmp_path) as base:
        async with clients(backend, base) as (client, _state):
            url = base.replace("http", "ws") + "/jobs/ws"
            async with websockets.connect(url, additional_headers=ALICE):
                await eventually(lambda: live_clients(client), lambda n: n == 1)
            await eventually(lambda: live_clients(client), lambda n: n == 0, timeout=5)
            sse, _ = await listen(client, "/jobs/events", ALICE, until=None)
            assert await live_clients(client) == 1
            sse.cancel()
            await eventually(lambda: live_clients(client), lambda n: n == 0, timeout=5)


@asynccontextmanager
async def hub_on(backend: Backend) -> AsyncIterator[tuple[EventHub, EventLog]]:
    redis = Redis.from_url(backend.redis_url, decode_responses=True)
    log = EventLog(redis, prefix=backend.prefix, maxlen=100, ttl_s=60)
    hub = EventHub(backend.redis_url, log)
    try:
        yield hub, log
    finally:
        await hub.close()
        await log.drain()
        await redis.aclose()


async def hears_first_event(log: EventLog, hub: EventHub, owner: str) -> None:
    """A new subscriber gets the owner's next event (within a deadline, a broken hub
    never)."""
    sub = await hub.subscribe(owner, None)
    log.publish(owner, "job.created", {"job": {"id": owner}})
    event = await asyncio.wait_for(anext(aiter(sub.events())), 5)
    assert event.data["job"]["id"] == owner


async def test_a_subscriber_arriving_as_the_reader_leaves_is_served(
    backend: Backend, redis_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page-navigation case: the last subscriber leaves, the shared reader starts to
    close, a new page subscribes. The window is a few ms in production; widened here."""
    async with hub_on(backend) as (hub, log):
        hub.unsubscribe(await hub.subscribe("alice", None))
        closing = asyncio.Event()
        close = Redis.aclose

        async def slow_close(self: Redis, *args: Any, **kwargs: Any) -> None:
            closing.set()
            await asyncio.sleep(0.3)
            await close(self, *args, **kwargs)

        monkeypatch.setattr(Redis, "aclose", slow_close)
        await asyncio.wait_for(closing.wait(), 3)
        await hears_first_event(log, hub, "alice")


async def test_a_new_owner_hears_its_first_event_at_once(
    backend: Backend, redis_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shared reader's blocked read is interrupted for a new owner's stream, not
    waited out: with the block a minute long, only an interrupted read delivers the
    event within the deadline."""
    monkeypatch.setattr(hub_module, "BLOCK_MS", 60_000)
    async with hub_on(backend) as (hub, log):
        await hub.subscribe("other", None)
        await asyncio.sleep(0.2)  # the shared reader is blocked on the other stream by now
        await hears_first_event(log, hub, "newcomer")


async def test_batched_appends_keep_order_per_stream_and_set_each_expiry(
    backend: Backend,
) -> None:
    """Concurrent publishes share one append (a script of XADDs and EXPIREs): every
    event lands in its owner's stream in publish order, and each stream expires."""
    redis = Redis.from_url(backend.redis_url, decode_responses=True)
    log = EventLog(redis, prefix=backend.prefix, maxlen=1000, ttl_s=120, linger_s=0.01)
    try:
        for n in range(6):
            log.publish("alice" if n % 2 else "bob", "job.progress", {"n": n})
        await log.drain()
        for owner, expected in (("alice", [1, 3, 5]), ("bob", [0, 2, 4])):
            events = await log.read(owner, after="0", block_ms=None)
            assert [e.data["n"] for e in events] == expected
            assert len({e.id for e in events}) == 3
            assert 0 < await redis.ttl(log.key(owner)) <= 120
    finally:
        await redis.delete(log.key("alice"), log.key("bob"))
        await redis.aclose()
