"""Issue 11, findings 7 and 11: dev auth serves only this machine however the app is
started, and every answer carries the security headers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.backends import Backend
from tests.support.harness import api, api_process
from ultudy.api.auth import create_token
from ultudy.kinds import JobType

ALICE = {"x-user-id": "alice"}
MALLORY = {"x-user-id": "mallory"}
ELSEWHERE = ("10.0.0.5", 1234)  # only ever a value in an ASGI scope: nothing is sent there
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


# --- dev auth: loopback only -----------------------------------------------------------


async def test_dev_mode_refuses_a_client_that_is_not_on_this_machine(backend: Backend) -> None:
    async with api(backend.settings(), client_address=ELSEWHERE) as (client, _state):
        response = await client.get("/admin/api/overview", headers=MALLORY)
    assert response.status_code == 403
    assert "loopback" in response.json()["detail"]


@pytest.mark.parametrize(
    "base_url",
    [
        "http://attacker.example",
        "http://attacker.example:8000",
        "http://localhost.attacker.example",
        "http://127.0.0.1.nip.io:8000",
    ],
)
async def test_dev_mode_refuses_a_host_that_is_not_loopback(
    backend: Backend, base_url: str
) -> None:
    """DNS rebinding: a page whose name now resolves to 127.0.0.1 sends its own name."""
    async with api(backend.settings(), base_url=base_url) as (client, _state):
        response = await client.get("/admin/api/overview", headers=MALLORY)
    assert response.status_code == 403
    assert "Host" in response.json()["detail"]


@pytest.mark.parametrize(
    ("base_url", "address"),
    [
        ("http://localhost:8000", "127.0.0.1"),
        ("http://127.0.0.1", "127.0.0.1"),
        ("http://[::1]:8000", "::1"),
        ("http://127.0.0.2:9", "::ffff:127.0.0.1"),
        ("http://LOCALHOST.", "127.0.0.1"),
    ],
)
async def test_dev_mode_serves_loopback_names_and_addresses(
    backend: Backend, base_url: str, address: str
) -> None:
    async with api(backend.settings(), base_url=base_url, client_address=(address, 5555)) as (
        client,
        _state,
    ):
        response = await client.get("/jobs", headers=ALICE)
    assert response.status_code == 200, response.text


async def test_token_mode_is_not_limited_to_loopback(backend: Backend) -> None:
    settings = backend.settings(auth="token", secret_key="k" * 40)
    alice = {"authorization": f"Bearer {create_token(settings, 'alice')}"}
    async with api(settings, base_url="http://jobs.example.org", client_address=ELSEWHERE) as (
        client,
        _state,
    ):
        assert (await client.get("/jobs", headers=alice)).status_code == 200
        assert (await client.get("/jobs", headers=MALLORY)).status_code == 401


async def _websocket_through_guard(scope: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    """Run LoopbackOnly on a crafted WebSocket handshake; what it sent, and whether it let
    the handshake through to the app."""
    reached = False

    async def app(_scope: Any, _receive: Any, _send: Any) -> None:
        nonlocal reached
        reached = True

    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: Any) -> None:
        sent.append(message)

    from ultudy.api.middleware import LoopbackOnly  # here: the rest of the file runs on any app

    await LoopbackOnly(app)(scope, receive, send)
    return sent, reached


@pytest.mark.parametrize(
    ("client", "host", "allowed"),
    [
        (("127.0.0.1", 1), b"localhost:8000", True),
        (ELSEWHERE, b"localhost:8000", False),
        (("127.0.0.1", 1), b"attacker.example:8000", False),
    ],
)
async def test_dev_mode_websocket_handshakes_are_checked_too(
    client: tuple[str, int], host: bytes, allowed: bool
) -> None:
    scope = {
        "type": "websocket",
        "path": "/jobs/ws",
        "client": client,
        "headers": [(b"host", host), (b"x-user-id", b"mallory")],
        "extensions": {"websocket.http.response": {}},
    }
    sent, reached = await _websocket_through_guard(scope)
    assert reached is allowed
    if not allowed:
        assert sent[0]["type"] == "websocket.http.response.start"
        assert sent[0]["status"] == 403


def test_dev_mode_app_started_by_uvicorn_itself_refuses_a_foreign_host(
    backend: Backend, tmp_path: Path
) -> None:
    """The loopback check used to live only in `ultudy api`; an app started by uvicorn
    directly (here on loopback, so that the test sends nothing elsewhere) must hold it."""
    command = (
        "-m",
        "uvicorn",
        "--factory",
        "ultudy.api.app:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
    )
    with api_process(backend.env(), tmp_path / "api.log", command) as (base, _proc):
        foreign = httpx.get(
            f"{base}/admin/api/overview", headers={**MALLORY, "host": "attacker.example:8000"}
        )
        local = httpx.get(f"{base}/admin/api/overview", headers=MALLORY)
    assert foreign.status_code == 403, foreign.text
    assert "Host" in foreign.json()["detail"]
    assert local.status_code == 200, local.text


# --- security headers ------------------------------------------------------------------


async def test_every_answer_carries_the_security_headers(backend: Backend) -> None:
    settings = backend.settings(max_json_kb=1)
    async with api(settings) as (client, _state):
        answers = {
            "page": await client.get("/signin"),
            "static": await client.get("/static/app.js"),
            "json": await client.get("/jobs", headers=ALICE),
            "401": await client.get("/jobs"),
            "413": await client.post("/lessons/generate-async", headers=ALICE, content=b"x" * 2048),
            "docs": await client.get("/docs"),
        }
    async with api(backend.settings(), base_url="http://attacker.example") as (client, _state):
        answers["403"] = await client.get("/jobs", headers=ALICE)
    assert answers["413"].status_code == 413
    assert answers["403"].status_code == 403
    for name, response in answers.items():
        for header, value in SECURITY_HEADERS.items():
            assert response.headers.get(header) == value, (name, header)
        policy = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy, name
        if name != "docs":
            assert "script-src 'self';" in policy, (name, policy)


async def test_the_pages_have_no_inline_script_or_style_for_the_policy_to_block(
    backend: Backend,
) -> None:
    """The self-only policy blocks inline code; the UI must have none (no build step:
    its HTML is these templates and its code the static modules)."""
    async with api(backend.settings()) as (client, state):
        record = await state.jobs.submit("alice", JobType.LESSON_GENERATION, {})
        client.cookies.set("ultudy_session", "alice")
        pages = [
            await client.get(path)
            for path in ("/signin", "/", "/jobs-view", "/admin", f"/lessons/{record.id}/view")
        ]
    for page in pages:
        assert page.status_code == 200, page.url
        html = page.text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), page.url
        assert not re.search(r"\sstyle\s*=|<style\b", html), page.url
        assert not re.search(r"\son[a-z]+\s*=", html), page.url
