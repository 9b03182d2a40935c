"""Issue 11: a malformed Last-Event-ID (header, query or WebSocket) is a clear 400 that
does not echo it, never a 503, and leaves nothing watching the caller's stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from fastapi import FastAPI

from tests.support.backends import Backend
from tests.support.harness import REGISTRY, api
from ultudy.api.app import create_app
from ultudy.config import Settings
from ultudy.kinds import JobType

ALICE = {"x-user-id": "alice"}

EXPECTED_FORM = (
    "Last-Event-ID (or last_event_id) must be an event id you were sent, like 1700000000000-0."
)
BAD_IDS = ["1_0-0", "garbage", "99999999999999999999-0", "1-0-0", "-1-0", "1"]


@pytest.mark.parametrize("bad_id", BAD_IDS)
async def test_a_malformed_last_event_id_is_a_400_that_does_not_echo_it(
    backend: Backend, bad_id: str
) -> None:
    async with api(backend.settings()) as (client, state):
        record = await state.jobs.submit("alice", JobType.LESSON_GENERATION, {})
        async with asyncio.timeout(10):  # the old code streamed forever for some of these
            answers = [
                await client.get("/jobs/events", headers={**ALICE, "Last-Event-ID": bad_id}),
                await client.get("/jobs/events", params={"last_event_id": bad_id}, headers=ALICE),
                await client.get(
                    f"/jobs/{record.id}/events", headers={**ALICE, "Last-Event-ID": bad_id}
                ),
            ]
        assert state.hub.subscriber_count == 0
        assert state.hub._cursors == {}  # nothing left watching alice's stream
    for response in answers:
        assert response.status_code == 400, response.text
        assert response.json()["detail"] == EXPECTED_FORM  # the same for all: nothing echoed


@asynccontextmanager
async def _app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings, registry=REGISTRY)
    async with app.router.lifespan_context(app):
        yield app


async def test_a_malformed_last_event_id_on_the_websocket_is_refused_as_a_400(
    backend: Backend,
) -> None:
    sent: list[dict[str, Any]] = []
    connected = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if not connected.is_set():
            connected.set()
            return {"type": "websocket.connect"}
        await asyncio.Event().wait()  # the client says nothing more
        raise AssertionError("unreachable")

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "websocket",
        "path": "/jobs/ws",
        "raw_path": b"/jobs/ws",
        "query_string": b"last_event_id=1_0-0",
        "root_path": "",
        "scheme": "ws",
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "subprotocols": [],
        "headers": [(b"host", b"localhost"), (b"x-user-id", b"alice")],
        "extensions": {"websocket.http.response": {}},
    }
    async with _app(backend.settings()) as app:
        scope["app"] = app
        await asyncio.wait_for(app(scope, receive, send), timeout=10)
    assert sent[0]["type"] == "websocket.http.response.start"
    assert sent[0]["status"] == 400
    body = b"".join(m.get("body", b"") for m in sent[1:]).decode()
    assert "like 1700000000000-0" in body
    assert "1_0-0" not in body
