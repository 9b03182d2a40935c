"""Cross-origin callers: the CORS allow-list answers preflights before authentication and
puts its headers on JSON answers, refusals and the SSE stream; with no list, nothing."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.backends import Backend
from tests.support.harness import api, api_server

APP = "http://localhost:5173"
OTHER = "https://evil.example"
PREFLIGHT = {
    "origin": APP,
    "access-control-request-method": "GET",
    "access-control-request-headers": "x-user-id, last-event-id",
}
ALICE = {"x-user-id": "alice"}


async def test_a_preflight_from_a_listed_origin_passes_before_authentication(
    backend: Backend,
) -> None:
    async with api(backend.settings(cors_origins=f"{APP}, https://b.example")) as (client, _):
        allowed = await client.options("/jobs/events", headers=PREFLIGHT)
        foreign = await client.options("/jobs", headers=PREFLIGHT | {"origin": OTHER})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == APP
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert {"x-user-id", "last-event-id", "authorization"} <= {
        name.strip() for name in allowed.headers["access-control-allow-headers"].split(",")
    }
    assert foreign.status_code == 400
    assert "access-control-allow-origin" not in foreign.headers


async def test_answers_and_refusals_carry_the_headers_for_a_listed_origin(
    backend: Backend,
) -> None:
    async with api(backend.settings(cors_origins=APP)) as (client, _):
        listed = await client.get("/jobs", headers=ALICE | {"origin": APP})
        anonymous = await client.get("/jobs", headers={"origin": APP})
        foreign = await client.get("/jobs", headers=ALICE | {"origin": OTHER})
    assert listed.status_code == 200
    assert listed.headers["access-control-allow-origin"] == APP
    assert anonymous.status_code == 401  # readable by the caller's script, not opaque
    assert anonymous.headers["access-control-allow-origin"] == APP
    assert foreign.status_code == 200  # the browser, not the server, withholds it
    assert "access-control-allow-origin" not in foreign.headers


async def test_no_list_means_no_cross_origin_access(backend: Backend) -> None:
    async with api(backend.settings()) as (client, _):
        preflight = await client.options("/jobs", headers=PREFLIGHT)
        read = await client.get("/jobs", headers=ALICE | {"origin": APP})
    assert preflight.status_code == 401
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in read.headers


def test_the_event_stream_answers_a_listed_origin(backend: Backend, tmp_path: Path) -> None:
    env = backend.env(cors_origins=APP)
    with api_server(env, tmp_path / "api.log") as base:
        preflight = httpx.options(f"{base}/jobs/events", headers=PREFLIGHT)
        headers = ALICE | {"origin": APP, "accept": "text/event-stream"}
        with httpx.stream("GET", f"{base}/jobs/events", headers=headers, timeout=10) as stream:
            status = stream.status_code
            allow = stream.headers.get("access-control-allow-origin")
            kind = stream.headers["content-type"]
    assert preflight.status_code == 200
    assert (status, allow) == (200, APP)
    assert kind.startswith("text/event-stream")
