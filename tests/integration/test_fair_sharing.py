"""Fair order between users within a queue (jobs.fairness): a user's single job overtakes
another user's backlog, with a real worker process; the order holds across API
processes, cancellations and a broker flush (the reconciler counts ranks from SQL)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.backends import Backend
from tests.support.harness import api, eventually, start_worker, stop, wait_for_status
from ultudy.jobs.caps import FRESH_S
from ultudy.jobs.fairness import RANK_BAND
from ultudy.jobs.reconciler import Reconciler
from ultudy.kinds import JobType

pytestmark = pytest.mark.slow
UPLOAD = JobType.MATERIAL_UPLOAD
BACKLOG = 60
SLOT_MS = 100  # one job's time in its slot
CONCURRENCY = 5


def at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def bull_priority(state: Any, job_id: uuid.UUID) -> int:
    job = await state.queues.queue_for(UPLOAD).getJob(str(job_id))
    return int(job.priority)


async def run_backlog(backend: Backend, tmp_path: Path, *, fair: bool) -> tuple[int, int]:
    """A's BACKLOG uploads, then B's one, with a real worker at concurrency 5. Returns how
    many of A's jobs were still waiting when B submitted, and how many of those started
    before B's."""
    overrides = {
        "fair_sharing": fair,
        "max_pending_jobs_per_user": 1000,
        "concurrency_material_upload": CONCURRENCY,
    }
    settings = backend.settings(**overrides)
    slow = {"steps": 1, "sleep_ms": SLOT_MS}
    alice, bob = f"alice-{fair}", f"bob-{fair}"
    async with api(settings) as (client, state):
        a_jobs = [(await state.jobs.submit(alice, UPLOAD, slow)).id for _ in range(BACKLOG)]
        worker = start_worker(backend.env(**overrides), log=tmp_path / f"worker-{fair}.log")
        try:

            async def started() -> int:
                page = await state.jobs.list(alice, status=None, limit=100)
                return sum(1 for j in page.jobs if j.started_at is not None)

            await eventually(started, lambda n: n >= CONCURRENCY, timeout=60)
            b_job = await state.jobs.submit(bob, UPLOAD, slow)

            async def a_done() -> int:
                page = await state.jobs.list(alice, status=None, limit=100)
                return sum(1 for j in page.jobs if j.status == "completed")

            await eventually(a_done, lambda n: n == BACKLOG, timeout=60)
            b = await wait_for_status(client, str(b_job.id), "completed", user=bob, timeout=30)
        finally:
            assert stop(worker) == 0
        a_starts = [(await state.jobs.get(alice, job_id)).started_at for job_id in a_jobs]
    submitted, b_start = at(b["created_at"]), at(b["started_at"])
    waiting = [start for start in a_starts if start is not None and start > submitted]
    return len(waiting), sum(1 for start in waiting if start < b_start)


async def test_a_single_upload_overtakes_another_users_backlog(
    backend: Backend, tmp_path: Path
) -> None:
    waiting, ahead_of_b = await run_backlog(backend, tmp_path, fair=True)
    assert waiting >= 2 * CONCURRENCY, waiting  # a backlog was there to overtake
    # B waits for a slot to free: at most the jobs BullMQ had already handed out, and the
    # one job of A at B's level (what a busy shared machine adds aside)
    assert ahead_of_b <= CONCURRENCY + 1, (ahead_of_b, waiting)
    # and without fairness the same run puts B behind the whole backlog
    waiting, ahead_of_b = await run_backlog(backend, tmp_path, fair=False)
    assert ahead_of_b == waiting >= 2 * CONCURRENCY, (ahead_of_b, waiting)


async def test_ranks_hold_across_api_processes_cancels_and_a_broker_flush(
    backend: Backend,
) -> None:
    settings = backend.settings(max_pending_jobs_per_user=1000)
    async with api(settings) as (_c1, one), api(settings) as (_c2, two):
        # two API processes (containers) submitting at once: each counts its own burst
        # in flight and what any process committed (a burst spread over processes may
        # share ranks: equal ranks run oldest first)
        a_jobs = await asyncio.gather(
            *(api_.jobs.submit("alice", UPLOAD, {}) for api_ in (one, two) for _ in range(10))
        )
        a_first = min([await bull_priority(one, r.id) for r in a_jobs])
        bob = await two.jobs.submit("bob", UPLOAD, {})
        assert await bull_priority(one, bob.id) <= a_first  # at the front, whoever asks
        # one at a time, whichever process: behind all 20 of hers that wait, once each
        # process has counted again (between counts, at most FRESH_S, a process knows only
        # its own submits of a user: jobs/caps.py)
        await asyncio.sleep(FRESH_S + 0.1)
        later = [
            await two.jobs.submit("alice", UPLOAD, {}),
            await one.jobs.submit("alice", UPLOAD, {}),
        ]
        later_p = [await bull_priority(one, r.id) for r in later]
        assert 20 <= later_p[0] < later_p[1]
        # the user's priority is the first key; the rank orders within its band
        background = await two.jobs.submit("alice", UPLOAD, {}, priority=2)
        assert await bull_priority(one, background.id) == 2 * RANK_BAND
        # cancelled jobs leave the count: her next job ranks behind the 5 left, counted
        # from the level the queue serves (its first waiting job's)
        for record in [*a_jobs[5:], *later]:
            await one.jobs.cancel("alice", record.id)
        level = min([await bull_priority(one, r.id) for r in (bob, *a_jobs[:5])])
        again = await one.jobs.submit("alice", UPLOAD, {})
        assert await bull_priority(one, again.id) == level + 5
        # the broker forgets everything; the reconciler enqueues again with ranks from SQL
        redis = one.queues.redis
        await redis.delete(*[k async for k in redis.scan_iter(f"{backend.prefix}:*")])
        reconciler = Reconciler(one.jobs.store, one.queues, one.jobs.events)
        await reconciler.run_once(min_age_s=0)
        left = sorted([await bull_priority(one, r.id) for r in a_jobs[:5]])
        assert left == [0, 1, 2, 3, 4]  # by age, whichever process took them
        assert await bull_priority(one, again.id) == 5
        assert await bull_priority(one, bob.id) == 0
        assert await bull_priority(one, background.id) == 2 * RANK_BAND


async def test_a_newcomer_joins_the_round_being_served_not_level_zero(backend: Backend) -> None:
    """Start-time fair queueing: counting from 0 every time would let a stream of light
    users starve an older backlog, and put a user's new job before their own older ones."""
    settings = backend.settings(max_pending_jobs_per_user=1000)
    async with api(settings) as (_client, state):
        a_jobs = [await state.jobs.submit("alice", UPLOAD, {}) for _ in range(10)]
        assert [await bull_priority(state, r.id) for r in a_jobs] == list(range(10))
        for record in a_jobs[:5]:  # as if run: the queue now serves level 5
            await state.jobs.cancel("alice", record.id)
        carol = await state.jobs.submit("carol", UPLOAD, {})
        assert await bull_priority(state, carol.id) == 5  # this round, not before alice's 5
        again = await state.jobs.submit("alice", UPLOAD, {})
        assert await bull_priority(state, again.id) == 10  # behind her own waiting 5..9
        dave = await state.jobs.submit("dave", UPLOAD, {}, priority=1)
        assert await bull_priority(state, dave.id) == RANK_BAND  # an empty band: its level 0
