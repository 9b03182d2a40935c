"""What the API decides before a route runs: authentication before the body is read, and
the cross-site request check on cookie-authenticated changes and WebSocket handshakes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from tests.support.backends import Backend
from tests.support.harness import api, api_server

UPLOAD_MB = 64
CHUNK_BYTES = 64 * 1024
COOKIE = {"cookie": "ultudy_session=alice"}
EVIL = "https://evil.example"


class CountedBody:
    """A chunked request body of UPLOAD_MB that records how much of it was taken."""

    def __init__(self) -> None:
        self.sent_bytes = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunk = b"\0" * CHUNK_BYTES
        while self.sent_bytes < UPLOAD_MB * 1024 * 1024:
            self.sent_bytes += len(chunk)
            yield chunk


async def test_an_anonymous_upload_is_refused_before_its_body_is_read(backend: Backend) -> None:
    body = CountedBody()
    headers = {"content-type": "multipart/form-data; boundary=x"}
    async with api(backend.settings()) as (client, _state):
        response = await client.post("/upload/pdf-structured-async", content=body, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "x-user-id" in response.json()["detail"]
    assert body.sent_bytes == 0


async def test_a_real_server_answers_401_after_the_first_chunk(
    backend: Backend, tmp_path: Path
) -> None:
    """Through uvicorn and TCP: a client that announces a 64 MB chunked upload and sends
    one 64 KB chunk has its 401 while the rest is still unsent (before, the API waited for
    the whole body, parsing and spooling it, and only then answered)."""
    with api_server(backend.env(), tmp_path / "api.log") as base:
        host, port = base.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(
            b"POST /upload/pdf-structured-async HTTP/1.1\r\nhost: "
            + host.encode()
            + b"\r\ntransfer-encoding: chunked\r\n"
            b"content-type: multipart/form-data; boundary=x\r\n\r\n"
            + b"%x\r\n" % CHUNK_BYTES
            + b"\0" * CHUNK_BYTES
            + b"\r\n"
        )
        await writer.drain()
        try:
            status_line = await asyncio.wait_for(reader.readline(), timeout=10)
        finally:
            writer.close()
    assert status_line.startswith(b"HTTP/1.1 401"), status_line


async def test_public_pages_and_docs_need_no_identity(backend: Backend) -> None:
    async with api(backend.settings()) as (client, _state):
        assert (await client.get("/")).headers["location"] == "/signin"
        assert (await client.get("/signin")).status_code == 200
        assert (await client.get("/static/app.js")).status_code == 200
        schema = (await client.get("/openapi.json")).json()
        assert (
            await client.delete("/session", headers={"origin": "http://localhost"})
        ).status_code == 204
    schemes = {next(iter(s)) for s in schema["paths"]["/jobs"]["get"]["security"]}
    assert schemes == {"bearerToken", "devUser", "sessionCookie"}


CROSS_SITE = [
    {"origin": EVIL},
    {"origin": "null"},
    {"sec-fetch-site": "cross-site", "origin": EVIL},
    {"sec-fetch-site": "same-site", "origin": "https://sub.localhost"},
    {"referer": f"{EVIL}/form.html"},
    {},  # nothing says where it comes from
]
SAME_SITE = [
    {"origin": "http://localhost"},
    {"sec-fetch-site": "same-origin", "origin": "http://localhost"},
    {"sec-fetch-site": "none"},
    {"referer": "http://localhost/documents/1/view"},
    {"origin": "https://app.example"},  # listed in ULTUDY_CORS_ORIGINS
]


@pytest.mark.parametrize(
    ("source", "cross_site"),
    [(source, True) for source in CROSS_SITE] + [(source, False) for source in SAME_SITE],
)
async def test_cookie_signed_changes_must_come_from_this_site(
    backend: Backend, source: dict[str, str], cross_site: bool
) -> None:
    async with api(backend.settings(cors_origins="https://app.example")) as (client, _state):
        response = await client.post(f"/jobs/{uuid.uuid4()}/cancel", headers=COOKIE | source)
        sign_in = await client.post("/session", json={"user_id": "eve"}, headers=source)
    if not cross_site:
        assert response.status_code == 404  # past both checks: the job is not alice's
        assert sign_in.status_code == 200
        return
    assert response.status_code == 403
    assert "cross-site request refused" in response.json()["detail"]
    assert sign_in.status_code == 403  # login CSRF: checked even without a cookie


async def test_header_authenticated_requests_are_not_checked(backend: Backend) -> None:
    headers = {"x-user-id": "alice", "origin": EVIL, "sec-fetch-site": "cross-site"}
    async with api(backend.settings()) as (client, _state):
        response = await client.post(f"/jobs/{uuid.uuid4()}/cancel", headers=headers)
        read = await client.get("/jobs", headers=COOKIE | {"origin": EVIL})
    assert response.status_code == 404
    assert read.status_code == 200  # reading is not a change; the cookie is enough


async def test_a_foreign_websocket_handshake_with_the_cookie_is_refused(
    backend: Backend, tmp_path: Path
) -> None:
    with api_server(backend.env(), tmp_path / "api.log") as base:
        url = base.replace("http", "ws") + "/jobs/ws"
        with pytest.raises(InvalidStatus) as refused:
            async with websockets.connect(url, additional_headers=COOKIE | {"origin": EVIL}):
                pass
        assert refused.value.response.status_code == 403
        assert b"cross-site" in refused.value.response.body
        mine = COOKIE | {"origin": base}
        async with websockets.connect(url, additional_headers=mine) as ws:
            assert ws.response.status_code == 101
        by_header = {"x-user-id": "alice", "origin": EVIL}
        async with websockets.connect(url, additional_headers=by_header) as ws:
            assert ws.response.status_code == 101
