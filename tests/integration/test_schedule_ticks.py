"""A schedule's tick makes exactly one job, however many workers tick at once: two
tickers with their own connection pools racing on the same due schedules, and two real
worker processes ticking one schedule every second."""

from __future__ import annotations

import asyncio
import itertools
import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from tests.support.backends import Backend
from tests.support.harness import api, eventually, start_worker, stop, worker_process
from ultudy.db.models import jobs, schedules
from ultudy.db.types import utcnow
from ultudy.jobs.schedules import Cadence, ScheduleStore
from ultudy.kinds import JobType

ALICE = {"x-user-id": "alice"}
DUE = 30


async def _jobs_of(state: object, schedule_id: str) -> list[object]:
    db = state.db  # type: ignore[attr-defined]
    query = select(jobs).where(jobs.c.type == JobType.CHECK_IN_REMINDER.value)
    async with db.transaction(None) as conn:
        rows = list(await conn.execute(query.order_by(jobs.c.created_at)))
    return [r for r in rows if r.input_data.get("schedule_id") == schedule_id]


async def test_two_tickers_racing_make_one_job_per_due_tick(backend: Backend) -> None:
    settings = backend.settings()
    async with api(settings) as (_client, state):
        store = ScheduleStore(state.db)
        cadence = Cadence(interval_s=3600)
        for i in range(DUE):
            await store.create(
                owner_id=f"user{i % 3}",
                name=f"s{i}",
                job_type=JobType.CHECK_IN_REMINDER,
                input_data={},
                cadence=cadence,
            )
        async with state.db.transaction(None) as conn:
            await conn.execute(
                update(schedules).values(next_run_at=utcnow() - timedelta(seconds=1))
            )
        async with worker_process(settings) as one, worker_process(settings) as two:
            made = await asyncio.gather(one.ticker.run_once(), two.ticker.run_once())
            again = await asyncio.gather(one.ticker.run_once(), two.ticker.run_once())
        async with state.db.transaction(None) as conn:
            count = (await conn.execute(select(func.count()).select_from(jobs))).scalar_one()
            runs = [r.runs for r in await conn.execute(select(schedules))]
            ahead = [r.next_run_at for r in await conn.execute(select(schedules))]
    assert sum(made) == DUE, made
    assert again == [0, 0]
    assert count == DUE
    assert runs == [1] * DUE
    assert all(at > utcnow() + timedelta(minutes=59) for at in ahead)


async def test_two_worker_processes_tick_a_schedule_once_per_second(
    backend: Backend, tmp_path: Path
) -> None:
    settings = backend.settings(schedule_min_interval_s=1)
    env = backend.env(schedule_poll_s=0.02, schedule_min_interval_s=1)
    async with api(settings) as (client, state):
        made = await client.post(
            "/schedules",
            json={"name": "every second", "job_type": "check_in_reminder", "interval_s": 1},
            headers=ALICE,
        )
        assert made.status_code == 201, made.text
        sid = made.json()["id"]
        logs = [tmp_path / f"w{i}.log" for i in range(2)]
        workers = [start_worker(env, log=log) for log in logs]
        try:
            await eventually(
                lambda: client.get("/schedules", headers=ALICE),
                lambda r: r.json()["schedules"][0]["runs"] >= 5,
                timeout=30,
            )
            paused = await client.post(f"/schedules/{sid}/pause", headers=ALICE)
            runs = paused.json()["runs"]
            made_jobs = await eventually(
                lambda: _jobs_of(state, sid),
                lambda rows: len(rows) == runs and all(r.status == "completed" for r in rows),  # type: ignore[attr-defined]
                timeout=20,
            )
        finally:
            for worker in workers:
                assert stop(worker) == 0
    created = [r.created_at for r in made_jobs]  # type: ignore[attr-defined]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(created)]
    assert all(gap >= 0.9 for gap in gaps), gaps  # one job per tick, never two
    # Every tick was won by exactly one of the two processes (each logs the ticks it won).
    won = [len(re.findall(r"tick made job", log.read_text())) for log in logs]
    assert sum(won) == runs, won
