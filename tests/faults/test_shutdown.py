"""SIGTERM is a clean exit: a worker finishes what it can within its grace period, exits 0
and leaves the rest to the next worker (none lost, none stuck `processing`); the API
process exits 0 at once, even with a live event stream open."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.faults.checks import counts, effects, report, table, terminal
from tests.faults.pool import WorkerPool
from tests.support.backends import Backend
from tests.support.harness import api, api_process, eventually
from ultudy.api.state import AppState
from ultudy.db.models import jobs
from ultudy.kinds import JobType

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

GRACE_S = 2
EXIT_MARGIN_S = 8  # process teardown on a loaded machine
SHUTDOWN = {
    "shutdown_grace_s": GRACE_S,
    "lock_duration_ms": 2000,
    "stalled_interval_ms": 1000,
    "concurrency_lesson_generation": 5,
}
# 6 s: outlasts the grace period. Its effect (a SQL transaction, at 3 s) comes after the
# grace period ends; a processor cancelled inside a transaction is the next test's case.
LONG = {"steps": 60, "sleep_ms": 100, "effect": True}
SHORT = {"steps": 5, "sleep_ms": 100, "effect": True}  # 0.5 s: ends within it
API_EXIT_S = 5
# A job inside a SQL write transaction when the grace period ends (on SQLite it holds the
# file's write lock), and jobs whose progress writes are queued behind it at the exit.
HOLDING = {"steps": 2, "sleep_ms": 200, "hold_write_s": 30}
CHATTY = {"steps": 100, "sleep_ms": 50}
HELD_EXIT_MARGIN_S = 3


async def submit(state: AppState, data: Mapping[str, object], n: int) -> list[str]:
    return [
        str((await state.jobs.submit("alice", JobType.LESSON_GENERATION, dict(data))).id)
        for _ in range(n)
    ]


async def statuses(state: AppState, ids: list[str]) -> list[str]:
    by_id = {str(r.id): r.status for r in await table(state, select(jobs))}
    return [by_id[i] for i in ids]


async def test_sigterm_worker_exits_cleanly_and_nothing_is_lost(
    backend: Backend, tmp_path: Path
) -> None:
    pool = WorkerPool(backend.env(**SHUTDOWN), tmp_path)
    async with api(backend.settings(**SHUTDOWN)) as (_client, state):
        try:
            first = pool.spawn()
            await pool.wait_up()
            long_ids = await submit(state, LONG, 3)
            await eventually(lambda: statuses(state, long_ids), lambda s: s == ["processing"] * 3)
            short_ids = await submit(state, SHORT, 6)
            await eventually(
                lambda: statuses(state, short_ids), lambda s: s.count("processing") >= 2
            )
            in_flight = await statuses(state, short_ids)
            began = time.monotonic()
            first.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(first.wait, GRACE_S + EXIT_MARGIN_S)
            took_s = time.monotonic() - began
            left = await statuses(state, long_ids + short_ids)
            pool.spawn()  # the next worker takes over what the first left
            final = await eventually(lambda: counts(state), lambda c: terminal(c) == 9, timeout=60)
            rows = {str(r.id): r for r in await table(state, select(jobs))}
            standing = await effects(state)
        finally:
            codes = pool.close()
    log = pool.log_text()
    report(
        f"worker SIGTERM [{backend.name}]",
        exit_s=round(took_s, 2),
        short_in_flight=in_flight,
        after_exit=left,
    )
    assert code == 0, log[-3000:]
    assert took_s <= GRACE_S + EXIT_MARGIN_S
    assert "worker stopping" in log
    assert "worker stopped" in log
    assert "grace period over" in log  # the long jobs were left, not waited for
    # What was running when the signal came: a short job finished within the grace period
    # (its row written before the exit); a long one was left `processing` for the next
    # worker. Nothing failed or was cancelled by the signal.
    after = dict(zip(long_ids + short_ids, left, strict=True))
    assert [after[i] for i in long_ids] == ["processing"] * 3
    for short, status in zip(short_ids, in_flight, strict=True):
        if status == "processing":
            assert after[short] == "completed"
    assert set(left) <= {"pending", "processing", "completed"}
    assert final == {"completed": 9}, final
    assert all(rows[i].attempts >= 2 for i in long_ids)  # run again by the second worker
    assert all([rows[i].result_data["effect"]] == standing[rows[i].id] for i in rows)
    assert codes == [0, 0]


async def test_sigterm_worker_with_a_job_inside_a_write_transaction_exits_in_grace(
    backend: Backend, tmp_path: Path
) -> None:
    pool = WorkerPool(backend.env(**SHUTDOWN), tmp_path)
    note = tmp_path / "holding.txt"
    async with api(backend.settings(**SHUTDOWN)) as (_client, state):
        try:
            first = pool.spawn()
            await pool.wait_up()
            ids = await submit(state, CHATTY, 2)
            await eventually(lambda: statuses(state, ids), lambda s: s == ["processing"] * 2)
            # submitted last: while it holds the write lock on SQLite, nothing else is written
            ids += await submit(state, {**HOLDING, "runs_file": str(note)}, 1)
            await eventually(lambda: asyncio.to_thread(note.exists), bool)
            began = time.monotonic()
            first.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(first.wait, GRACE_S + EXIT_MARGIN_S + 15)
            took_s = time.monotonic() - began
            left = await statuses(state, ids)
            pool.spawn()
            final = await eventually(lambda: counts(state), lambda c: terminal(c) == 3, timeout=60)
        finally:
            codes = pool.close()
    log = pool.log_text()
    report(
        f"worker SIGTERM mid-transaction [{backend.name}]", exit_s=round(took_s, 2), after_exit=left
    )
    assert code == 0, log[-3000:]
    assert "grace period over" in log
    assert took_s <= GRACE_S + HELD_EXIT_MARGIN_S, log[-3000:]
    assert "job row write failed" not in log, log[-3000:]
    assert left == ["processing"] * 3  # left for stalled recovery, not lost
    assert final == {"completed": 3}, final
    assert codes == [0, 0]


async def test_sigterm_api_with_an_open_event_stream_exits_promptly(
    backend: Backend, tmp_path: Path
) -> None:
    with api_process(backend.env(), tmp_path / "api.log") as (base, proc):
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            stream = client.stream("GET", "/jobs/events", headers={"x-user-id": "alice"})
            async with stream as response:
                assert response.status_code == 200
                began = time.monotonic()
                proc.send_signal(signal.SIGTERM)
                code = await asyncio.to_thread(proc.wait, 30)
                took_s = time.monotonic() - began
                # The stream ends (closed cleanly or cut off with the process): no hang.
                with contextlib.suppress(httpx.RemoteProtocolError):
                    async for _ in response.aiter_bytes():
                        pass
    report(f"API SIGTERM [{backend.name}]", exit_s=round(took_s, 2))
    assert code == 0, (tmp_path / "api.log").read_text()[-3000:]
    assert took_s < API_EXIT_S
