"""The broker loses everything mid-run (FLUSHALL, then stopped and started empty): the
reconciler enqueues again what SQL says is unfinished, so every accepted job completes
once, with one effect, and submits accepted while the broker was down complete too."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import select

from tests.faults.checks import counts, effects, report, table, terminal
from tests.faults.pool import WorkerPool
from tests.support.backends import Backend
from tests.support.harness import ROOT, api, eventually
from tests.support.servers import PrivateRedis
from ultudy.db.models import jobs
from ultudy.kinds import JobType

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

JOBS = 300
OWNERS = 10
DOWN_SUBMITS = 5
FAST = {
    "lock_duration_ms": 2000,
    "stalled_interval_ms": 1000,
    "reconcile_interval_s": 1,
    "reconcile_min_age_s": 1,
}
JOB_INPUT = {"steps": 4, "sleep_ms": 50, "effect": True}
PDF = ROOT / "tests/data/pdfs/pypi-pikepdf__cyclic-toc.pdf"
DOWN_S = 2.0  # how long the broker stays down: the fault, not a wait for a state


async def test_broker_flushed_and_restarted_mid_run_loses_nothing(
    backend: Backend, tmp_path: Path
) -> None:
    began = time.monotonic()
    broker = PrivateRedis()
    broker.start()
    pool = WorkerPool(backend.env(redis_url=broker.url, **FAST), tmp_path)
    try:
        async with api(backend.settings(redis_url=broker.url, **FAST)) as (client, state):
            ids = [
                str(
                    (
                        await state.jobs.submit(
                            f"owner-{n % OWNERS}", JobType.LESSON_GENERATION, {**JOB_INPUT, "n": n}
                        )
                    ).id
                )
                for n in range(JOBS)
            ]
            for _ in range(2):
                pool.spawn()
            await pool.wait_up()
            mid = await eventually(
                lambda: counts(state), lambda c: terminal(c) >= JOBS // 4, timeout=120
            )
            with Redis.from_url(broker.url) as redis:
                redis.flushall()
            broker.stop()
            down_ids = []
            for _ in range(DOWN_SUBMITS):
                with PDF.open("rb") as fh:
                    response = await client.post(
                        "/upload/pdf-structured-async",
                        headers={"x-user-id": "late"},
                        files={"file": ("doc.pdf", fh, "application/pdf")},
                    )
                assert response.status_code == 202, response.text
                down_ids.append(response.json()["job_id"])
            for job_id in down_ids:  # accepted and kept: pending until the broker is back
                row = await client.get(f"/jobs/{job_id}", headers={"x-user-id": "late"})
                assert row.json()["status"] == "pending", row.text
            during = await counts(state)
            await asyncio.sleep(DOWN_S)
            broker.start()  # the same port, empty
            final = await eventually(
                lambda: counts(state), lambda c: terminal(c) >= JOBS + DOWN_SUBMITS, timeout=150
            )
            rows = {str(r.id): r for r in await table(state, select(jobs))}
            standing = await effects(state)
    finally:
        codes = pool.close()
        broker.destroy()
    logs = pool.log_text()
    report(
        f"broker flush [{backend.name}]",
        jobs=len(rows),
        at_flush=mid,
        during_outage=during,
        reconciler_passes_that_enqueued=logs.count("reconciler re-enqueued"),
        rows_started_more_than_once=sum(r.attempts > 1 for r in rows.values()),
        seconds=round(time.monotonic() - began, 1),
    )
    assert final == {"completed": JOBS + DOWN_SUBMITS}, final
    assert set(rows) == {*ids, *down_ids}
    assert {str(k) for k in standing} == set(ids)
    assert all([rows[i].result_data["effect"]] == standing[rows[i].id] for i in ids)
    assert codes == [0, 0], logs[-3000:]
    assert Counter(r.status for r in rows.values()) == {"completed": JOBS + DOWN_SUBMITS}
