"""Tokens and browser sessions over HTTP: sign-out revokes, expiry lives in the token,
cookie attributes, `ultudy token revoke`."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from http.cookies import SimpleCookie

import httpx
import pytest
from redis import Redis

from tests.support.backends import Backend
from tests.support.harness import ROOT, api
from ultudy.api.auth import SESSION_COOKIE, create_token
from ultudy.config import Settings

SECRET = "k" * 40
SAME_ORIGIN = {"origin": "http://localhost"}  # what the UI's own fetches send


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def session_cookie(response: httpx.Response) -> tuple[str, dict[str, str | bool]]:
    """The cookie's value and attributes, read from the raw header (httpx's jar would keep
    a Secure cookie off this http:// test client)."""
    jar: SimpleCookie = SimpleCookie(response.headers["set-cookie"])
    morsel = jar[SESSION_COOKIE]
    return morsel.value, {key: morsel[key] for key in ("secure", "httponly", "samesite")}


def with_cookie(value: str) -> dict[str, str]:
    return {"cookie": f"{SESSION_COOKIE}={value}", **SAME_ORIGIN}


async def sign_in(client: httpx.AsyncClient, token: str) -> str:
    response = await client.post("/session", json={"token": token}, headers=SAME_ORIGIN)
    assert response.status_code == 200, response.text
    return session_cookie(response)[0]


@dataclass
class SignedIn:
    client: httpx.AsyncClient
    settings: Settings
    token: str  # what alice typed into the sign-in form
    cookie: str  # what her browser got


@pytest.fixture
async def alice(backend: Backend, redis_client: Redis) -> AsyncIterator[SignedIn]:
    """Alice signed in, token mode; `redis_client` removes the revocations afterwards."""
    settings = backend.settings(auth="token", secret_key=SECRET)
    token = create_token(settings, "alice")
    async with api(settings) as (client, _state):
        yield SignedIn(client, settings, token, await sign_in(client, token))


async def test_sign_out_revokes_the_session_and_a_header_token(
    backend: Backend, redis_client: Redis, alice: SignedIn
) -> None:
    client, token, cookie = alice.client, alice.token, alice.cookie
    assert cookie != token  # the browser holds a session token of its own
    assert (await client.get("/session", headers=with_cookie(cookie))).status_code == 200
    out = await client.delete("/session", headers=with_cookie(cookie))
    assert out.status_code == 204
    replay = await client.get("/session", headers=with_cookie(cookie))
    assert replay.status_code == 401
    assert "revoked" in replay.json()["detail"]
    # Signing the browser out ends its session, not the API token typed in...
    assert (await client.get("/session", headers=bearer(token))).status_code == 200
    # ...which an API client revokes by signing out with it.
    assert (await client.delete("/session", headers=bearer(token))).status_code == 204
    again = await client.get("/jobs", headers=bearer(token))
    assert again.status_code == 401
    assert again.headers["www-authenticate"] == "Bearer"
    refused = await client.post("/session", json={"token": token}, headers=SAME_ORIGIN)
    assert refused.status_code == 401
    # One entry per revoked token, gone when the token would have expired.
    entries = list(redis_client.scan_iter(f"{backend.prefix}:auth:revoked:*"))
    assert len(entries) == 2
    assert all(0 < redis_client.ttl(key) <= alice.settings.token_ttl_s + 60 for key in entries)


async def test_revoking_a_token_ends_its_browser_sessions(
    backend: Backend, alice: SignedIn
) -> None:
    client, token, cookie = alice.client, alice.token, alice.cookie
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ultudy",
        "token",
        "revoke",
        token,
        env=backend.env(auth="token", secret_key=SECRET),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output = (await proc.communicate())[0].decode()
    assert proc.returncode == 0, output
    assert "revoked alice's token" in output
    assert (await client.get("/session", headers=bearer(token))).status_code == 401
    assert (await client.get("/session", headers=with_cookie(cookie))).status_code == 401


async def test_expiry_is_the_one_in_the_token_whatever_the_ttl_now(backend: Backend) -> None:
    made = backend.settings(auth="token", secret_key=SECRET, token_ttl_s=60)
    expired = create_token(made, "alice", now=time.time() - 120)
    raised = backend.settings(auth="token", secret_key=SECRET, token_ttl_s=10**8)
    async with api(raised) as (client, _state):
        response = await client.get("/jobs", headers=bearer(expired))
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


async def test_the_token_mode_cookie_is_secure_httponly_and_strict(backend: Backend) -> None:
    settings = backend.settings(auth="token", secret_key=SECRET)
    async with api(settings) as (client, _state):
        signed = await client.post(
            "/session", json={"token": create_token(settings, "alice")}, headers=SAME_ORIGIN
        )
        gone = await client.delete("/session", headers=SAME_ORIGIN)
    assert session_cookie(signed)[1] == {"secure": True, "httponly": True, "samesite": "strict"}
    assert session_cookie(gone)[1]["secure"] is True  # else the browser keeps the cookie


async def test_the_dev_mode_cookie_is_not_secure_on_plain_http(backend: Backend) -> None:
    async with api(backend.settings()) as (client, _state):
        signed = await client.post("/session", json={"user_id": "alice"}, headers=SAME_ORIGIN)
    value, attributes = session_cookie(signed)
    assert value == "alice"
    assert attributes == {"secure": "", "httponly": True, "samesite": "strict"}
