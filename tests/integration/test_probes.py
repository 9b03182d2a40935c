"""`/livez` and `/readyz` answer without credentials, even in token mode; `/readyz` says 503
(and nothing more) while the database or the broker is down, and 200 again after."""

from __future__ import annotations

import asyncio
import secrets

import httpx
import pytest

from tests.support import backends
from tests.support.backends import Backend
from tests.support.harness import api
from tests.support.servers import PrivatePostgres, PrivateRedis
from ultudy.config import Settings
from ultudy.db.migrate import upgrade

pytestmark = pytest.mark.timeout(120)


def token_mode(backend: Backend, **overrides: object) -> Settings:
    return backend.settings(auth="token", secret_key=secrets.token_urlsafe(32), **overrides)


async def test_probes_answer_without_credentials_in_token_mode(backend: Backend) -> None:
    async with api(token_mode(backend)) as (client, _state):
        assert (await client.get("/jobs")).status_code == 401
        for path in ("/livez", "/readyz"):
            response = await client.get(path)
            assert response.status_code == 200, (path, response.text)
            assert response.text == "ok\n"
            assert response.headers["content-type"].startswith("text/plain")


async def _until(client: httpx.AsyncClient, code: int) -> httpx.Response:
    for _ in range(100):
        response = await client.get("/readyz")
        if response.status_code == code:
            return response
        await asyncio.sleep(0.1)
    raise AssertionError(f"/readyz never answered {code}")


async def test_readyz_is_503_while_the_broker_is_down(backend: Backend) -> None:
    broker = PrivateRedis()
    broker.start()
    try:
        async with api(token_mode(backend, redis_url=broker.url)) as (client, _state):
            await _until(client, 200)
            broker.stop()
            down = await _until(client, 503)
            assert down.text == "not ready\n"  # no detail for an unauthenticated caller
            assert (await client.get("/livez")).status_code == 200
            broker.start()
            await _until(client, 200)
    finally:
        broker.destroy()


async def test_readyz_is_503_while_postgresql_is_down(backend: Backend) -> None:
    if "postgres" not in backends.backend_names():
        pytest.skip("runs with the PostgreSQL backend (ULTUDY_TEST_DATABASE_URL)")
    server = PrivatePostgres()
    try:
        await asyncio.to_thread(server.init)
        await asyncio.to_thread(server.start)
        await asyncio.to_thread(upgrade, server.url)
        settings = backend.settings(database_url=server.url, database_system_url=server.url)
        async with api(settings) as (client, _state):
            await _until(client, 200)
            await asyncio.to_thread(server.stop)
            down = await _until(client, 503)
            assert down.text == "not ready\n"
            assert (await client.get("/livez")).status_code == 200
            await asyncio.to_thread(server.start)
            await _until(client, 200)
    finally:
        await asyncio.to_thread(server.destroy)
