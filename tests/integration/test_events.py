"""The push channel against a real API process: SSE for all jobs and for one job, replay
with Last-Event-ID, owner isolation, and the WebSocket."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.support.backends import Backend
from tests.support.harness import api, api_server, sse_events, start_worker, stop
from ultudy.jobs.states import JobType

pytestmark = pytest.mark.slow
ALICE = {"x-user-id": "alice"}
BOB = {"x-user-id": "bob"}
SLOW_JOB = {"steps": 4, "sleep_ms": 150}


def for_job(job_id: str) -> Any:
    return lambda e: e["data"]["job"]["id"] == job_id and e["event"] == "job.completed"


async def collect(client: httpx.AsyncClient, url: str, headers: dict[str, str], *,
                  until: Any, limit: float = 20) -> list[dict[str, Any]]:  # fmt: skip
    events: list[dict[str, Any]] = []

    async def read() -> None:
        async with client.stream("GET", url, headers=headers) as response:
            assert response.status_code == 200
            async for event in sse_events(response, until=until):
                events.append(event)

    await asyncio.wait_for(read(), limit)
    return events


async def test_all_jobs_stream_then_replay_after_a_reconnect(
    backend: Backend, tmp_path: Path
) -> None:
    settings = backend.settings()
    with api_server(backend.env(), tmp_path / "api.log") as base:
        worker = start_worker(backend.env(), log=tmp_path / "w.log")
        try:
            async with (
                api(settings) as (_c, state),
                httpx.AsyncClient(base_url=base, timeout=30) as client,
            ):
                listening = asyncio.create_task(collect(client, "/jobs/events", ALICE,
                                                        until=lambda e: e["event"] == "job.completed"))  # fmt: skip
                await asyncio.sleep(1.2)  # the hub joins a new owner within a second
                record = await state.jobs.submit("alice", JobType.LESSON_GENERATION, SLOW_JOB)
                events = await listening
                kinds = [e["event"] for e in events if e["data"]["job"]["id"] == str(record.id)]
                assert kinds[0] == "job.created"
                assert kinds[1] == "job.processing"
                assert kinds.count("job.progress") == 4
                assert kinds[-1] == "job.completed"
                progress = [
                    e["data"]["job"]["progress"] for e in events if e["event"] == "job.progress"
                ]
                assert progress == [25, 50, 75, 100]
                ids = [e["id"] for e in events]
                assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-"))))
                # Reconnect as if the connection dropped after the "processing" event.
                resume = {**ALICE, "Last-Event-ID": ids[1]}
                replay = await collect(
                    client, "/jobs/events", resume, until=for_job(str(record.id))
                )
                assert [e["id"] for e in replay] == ids[2:]
        finally:
            stop(worker)


async def test_one_job_stream_ends_with_the_job_and_is_private(
    backend: Backend, tmp_path: Path
) -> None:
    settings = backend.settings()
    with api_server(backend.env(), tmp_path / "api.log") as base:
        worker = start_worker(backend.env(), log=tmp_path / "w.log")
        try:
            async with (
                api(settings) as (_c, state),
                httpx.AsyncClient(base_url=base, timeout=30) as client,
            ):
                record = await state.jobs.submit("alice", JobType.MATERIAL_UPLOAD, SLOW_JOB)
                url = f"/jobs/{record.id}/events"
                assert (await client.get(url, headers=BOB)).status_code == 404
                assert (await client.get("/jobs/events")).status_code == 401
                bob_sees: list[dict[str, Any]] = []

                async def bob_listens() -> None:
                    async with client.stream("GET", "/jobs/events", headers=BOB) as response:
                        async for event in sse_events(response):
                            bob_sees.append(event)

                spy = asyncio.create_task(bob_listens())
                events = await collect(client, url, ALICE, until=None)  # ends by itself
                spy.cancel()
                assert events[0]["event"] == "job.snapshot"
                assert events[-1]["event"] == "job.completed"
                assert events[-1]["data"]["job"]["result_data"]["steps"] == 4
                assert bob_sees == []
                done = await collect(client, url, ALICE, until=None)
                assert [e["event"] for e in done] == ["job.snapshot"]
        finally:
            stop(worker)


async def test_websocket_delivers_the_same_events(backend: Backend, tmp_path: Path) -> None:
    settings = backend.settings()
    with api_server(backend.env(), tmp_path / "api.log") as base:
        worker = start_worker(backend.env(), log=tmp_path / "w.log")
        try:
            async with api(settings) as (_c, state):
                url = base.replace("http", "ws") + "/jobs/ws"
                async with websockets.connect(url, additional_headers=ALICE) as ws:
                    await asyncio.sleep(1.2)
                    record = await state.jobs.submit(
                        "alice", JobType.CHECK_IN_EVALUATION, {"steps": 2}
                    )
                    kinds = []
                    while True:
                        message = json.loads(await asyncio.wait_for(ws.recv(), 20))
                        kinds.append(message["type"])
                        assert message["data"]["job"]["id"] == str(record.id)
                        if message["type"] == "job.completed":
                            break
                assert kinds[:2] == ["job.created", "job.processing"]
                with pytest.raises(websockets.exceptions.InvalidStatus):
                    async with websockets.connect(url):
                        pass
        finally:
            stop(worker)
