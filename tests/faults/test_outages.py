"""Outages of the database and of the broker, with real processes: an API server, a worker
subprocess, and a PostgreSQL cluster and a Redis server of the test's own that it stops and
starts again (never the machine's shared services).

While PostgreSQL is down the API answers 503 with Retry-After at once (no 500, no hang);
the first request after it is back succeeds, and every job accepted before, during or
after ends completed, once. While Redis is down submits still answer 202 (the row is the
truth); after it is back (empty: it keeps nothing on disk) the reconciler enqueues what it
lost, every job completes, and live events flow again on the SSE stream opened before.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from tests.support import backends
from tests.support.backends import Backend
from tests.support.harness import ROOT, api, api_server, eventually, sse_events, start_worker, stop
from tests.support.sections import a_section
from tests.support.servers import PrivatePostgres, PrivateRedis
from ultudy.db import Database
from ultudy.db.migrate import upgrade
from ultudy.db.models import jobs
from ultudy.kinds import JobType

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

USER = "alice"
HEADERS = {"x-user-id": USER}
OUTAGE_S = 10.0
# an answer during an outage must come within this (a connect attempt is bounded)
PROMPT_S = 6.0
# after recovery, a request must not wait out a reconnect or a dead connection
RECOVERED_S = 3.0
# a completion lost to a 10 s outage is rerun by the reconciler 15 s after BullMQ finished it
SETTLE_S = 60.0
PDF = ROOT / "tests/data/pdfs/pypi-pikepdf__cyclic-toc.pdf"
SLOW_JOB = {"steps": 10, "sleep_ms": 150}


def require_backend(name: str) -> None:
    """These tests bring their own servers; they run in the runs that cover `name`, so
    each backend's variant runs once in CI, and say so when skipped."""
    names = backends.backend_names()
    if name not in names:
        pytest.skip(
            f"{name} is not among this run's backends ({', '.join(names)}); "
            "set ULTUDY_TEST_DATABASE_URL or ULTUDY_TEST_BACKENDS"
        )


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    yield server
    server.destroy()


@contextlib.asynccontextmanager
async def private_postgres() -> AsyncIterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        await asyncio.to_thread(server.init)
        await asyncio.to_thread(server.start)
        await asyncio.to_thread(upgrade, server.url)  # alembic runs a loop of its own
        yield server
    finally:
        await asyncio.to_thread(server.destroy)


@contextlib.asynccontextmanager
async def database_for(name: str, tmp_path: Path) -> AsyncIterator[str]:
    if name == "sqlite":
        template = await asyncio.to_thread(backends.sqlite_template, tmp_path / "template")
        yield backends.sqlite_database(template, tmp_path)
        return
    async with private_postgres() as server:
        yield server.url


async def seed_section(url: str) -> dict[str, str]:
    """A document with one section, so that `POST /lessons/generate-async` accepts."""
    db = Database(url)
    try:
        return await a_section(db, USER)
    finally:
        await db.dispose()


async def timed_submit(
    client: httpx.AsyncClient, lesson: dict[str, str], n: int
) -> tuple[httpx.Response, float]:
    """One async submit, alternating between a lesson (its section is read first, on the
    API's pool) and an upload (nothing read: straight to the group-committed insert)."""
    start = time.monotonic()
    if n % 2:
        response = await client.post("/lessons/generate-async", json=lesson)
    else:
        response = await client.post(
            "/upload/pdf-structured-async", files={"file": ("o.pdf", PDF.read_bytes())}
        )
    return response, time.monotonic() - start


async def accepted(client: httpx.AsyncClient, lesson: dict[str, str], n: int) -> str:
    response, took = await timed_submit(client, lesson, n)
    assert response.status_code == 202, response.text
    assert took < RECOVERED_S, f"submit took {took:.1f} s"
    job_id: str = response.json()["job_id"]
    return job_id


async def all_completed(client: httpx.AsyncClient, ids: list[str]) -> None:
    async def statuses() -> Counter[str]:
        found: Counter[str] = Counter()
        for job_id in ids:
            response = await client.get(f"/jobs/{job_id}")
            found[response.json()["status"] if response.status_code == 200 else "error"] += 1
        return found

    await eventually(statuses, lambda c: c["completed"] == len(ids), timeout=SETTLE_S)


async def check_rows(
    url: str, ids: list[str], redis_url: str, prefix: str, *, cancelled: str | None = None
) -> None:
    """One row per accepted job, completed, within its attempts; one completion event each
    (a job whose completion was lost and ran again still completes once)."""
    db = Database(url)
    async with db.transaction(None) as conn:
        rows = (await conn.execute(select(jobs))).all()
    await db.dispose()
    assert sorted(str(r.id) for r in rows) == sorted([*ids, *([cancelled] if cancelled else [])])
    for row in rows:
        if str(row.id) == cancelled:
            assert row.status == "cancelled", row
            continue
        assert row.status == "completed", row
        assert row.result_data is not None, row
        assert 1 <= row.attempts <= row.max_attempts, row
    redis = Redis.from_url(redis_url, decode_responses=True)
    entries = await redis.xrange(f"{prefix}:events:{USER}")
    await redis.aclose()
    kinds = [json.loads(fields["d"]) for _, fields in entries]
    completions = Counter(k["job"]["id"] for k in kinds if k["type"] == "job.completed")
    assert all(count == 1 for count in completions.values()), completions


async def test_postgres_outage_answers_503_and_recovers(
    tmp_path: Path, private_redis: PrivateRedis
) -> None:
    require_backend("postgres")
    async with private_postgres() as pg:
        backend = Backend("postgres", pg.url, private_redis.url, tmp_path)
        env = backend.env()
        lesson = await seed_section(pg.url)
        worker = start_worker(env, log=tmp_path / "worker.log")
        try:
            with api_server(env, tmp_path / "api.log") as base:
                async with (
                    httpx.AsyncClient(base_url=base, headers=HEADERS, timeout=30) as client,
                    api(backend.settings()) as (_, producer),
                ):
                    ids = await _run_through_db_outage(client, producer, pg, lesson)
                    await all_completed(client, ids)
            await check_rows(pg.url, ids, private_redis.url, backend.prefix)
            assert worker.poll() is None, "the worker died in the outage"
        finally:
            assert stop(worker) == 0, (tmp_path / "worker.log").read_text()[-3000:]


async def _run_through_db_outage(
    client: httpx.AsyncClient, producer: Any, pg: PrivatePostgres, lesson: dict[str, str]
) -> list[str]:
    # Jobs in every stage when the database goes: running, waiting, just submitted.
    ids = [
        str((await producer.jobs.submit(USER, JobType.CHECK_IN_EVALUATION, SLOW_JOB)).id)
        for _ in range(20)
    ]
    ids += [await accepted(client, lesson, n) for n in range(6)]
    await eventually(
        lambda: client.get(f"/jobs/{ids[0]}"), lambda r: r.json()["status"] == "processing"
    )
    pg.stop()
    down_at, n = time.monotonic(), 0
    while time.monotonic() - down_at < OUTAGE_S:
        response, took = await timed_submit(client, lesson, n)
        assert response.status_code == 503, (n, response.status_code, response.text)
        assert int(response.headers["retry-after"]) > 0
        assert "database" in response.json()["detail"].lower()
        assert took < PROMPT_S, f"a submit in the outage took {took:.1f} s"
        n += 1
        await asyncio.sleep(0.3)
    assert (await client.get("/jobs/health/queues")).status_code == 503
    pg.start()
    await eventually(lambda: client.get("/jobs/health/queues"), lambda r: r.status_code == 200)
    # The first requests after recovery: no dead connection kept, no wait.
    ids += [await accepted(client, lesson, n) for n in range(6)]
    return ids


async def _collect(client: httpx.AsyncClient, into: list[dict[str, Any]]) -> None:
    async with client.stream("GET", "/jobs/events") as response:
        assert response.status_code == 200
        async for event in sse_events(response):
            into.append(event)


@contextlib.asynccontextmanager
async def sse_listener(base: str) -> AsyncIterator[list[dict[str, Any]]]:
    events: list[dict[str, Any]] = []
    timeout = httpx.Timeout(10, read=None)
    async with httpx.AsyncClient(base_url=base, headers=HEADERS, timeout=timeout) as client:
        task = asyncio.create_task(_collect(client, events), name="sse")
        try:
            yield events
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def completed_ids(events: list[dict[str, Any]]) -> set[str]:
    return {e["data"]["job"]["id"] for e in events if e.get("event") == "job.completed"}


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
async def test_redis_restart_loses_no_job_and_live_events_resume(
    database: str, tmp_path: Path, private_redis: PrivateRedis
) -> None:
    require_backend(database)
    async with database_for(database, tmp_path) as url:
        backend = Backend(database, url, private_redis.url, tmp_path)
        env = backend.env()
        lesson = await seed_section(url)
        worker = start_worker(env, log=tmp_path / "worker.log")
        try:
            with api_server(env, tmp_path / "api.log") as base:
                async with (
                    httpx.AsyncClient(base_url=base, headers=HEADERS, timeout=30) as client,
                    sse_listener(base) as events,
                    api(backend.settings()) as (_, producer),
                ):
                    ids = await _run_through_broker_outage(
                        client, producer, events, private_redis, lesson
                    )
                    await all_completed(client, ids)
                    # live events again on the stream opened before the outage
                    await eventually(
                        lambda: asyncio.sleep(0, completed_ids(events)),
                        lambda seen: set(ids[-3:]) <= seen,
                    )
                    cancelled = await _cancel_reaches_the_worker(
                        client, producer, tmp_path / "worker.log"
                    )
            await check_rows(url, ids, private_redis.url, backend.prefix, cancelled=cancelled)
            assert worker.poll() is None, "the worker died in the outage"
        finally:
            assert stop(worker) == 0, (tmp_path / "worker.log").read_text()[-3000:]


async def _cancel_reaches_the_worker(
    client: httpx.AsyncClient, producer: Any, worker_log: Path
) -> str:
    """The worker's cancel relay (a Redis subscription) came back with the broker: a
    running job's cancel reaches it."""
    record = await producer.jobs.submit(
        USER, JobType.MATERIAL_UPLOAD, {"steps": 100, "sleep_ms": 100}
    )
    job_id = str(record.id)
    await eventually(
        lambda: client.get(f"/jobs/{job_id}"), lambda r: r.json()["status"] == "processing"
    )
    assert (await client.post(f"/jobs/{job_id}/cancel")).status_code == 200
    delivered = f"job {job_id}: cancel signal delivered"
    await eventually(
        lambda: asyncio.sleep(0, worker_log.read_text()), lambda text: delivered in text
    )
    return job_id


async def _run_through_broker_outage(
    client: httpx.AsyncClient,
    producer: Any,
    events: list[dict[str, Any]],
    redis: PrivateRedis,
    lesson: dict[str, str],
) -> list[str]:
    ids = [await accepted(client, lesson, n) for n in range(6)]
    await eventually(lambda: asyncio.sleep(0, completed_ids(events)), lambda seen: set(ids) <= seen)
    # jobs running and waiting when the broker goes (and comes back empty)
    ids += [
        str((await producer.jobs.submit(USER, JobType.LESSON_GENERATION, SLOW_JOB)).id)
        for _ in range(8)
    ]
    await eventually(
        lambda: client.get(f"/jobs/{ids[6]}"), lambda r: r.json()["status"] == "processing"
    )
    redis.stop()
    down_at, n = time.monotonic(), 0
    while time.monotonic() - down_at < OUTAGE_S / 2:
        response, took = await timed_submit(client, lesson, n)
        assert response.status_code == 202, (response.status_code, response.text)
        assert took < PROMPT_S, f"a submit in the broker outage took {took:.1f} s"
        ids.append(response.json()["job_id"])
        job = (await client.get(f"/jobs/{ids[-1]}")).json()
        assert job["status"] == "pending", job
        n += 1
        await asyncio.sleep(0.3)
    redis.start()
    ids += [await accepted(client, lesson, n) for n in range(3)]
    return ids
