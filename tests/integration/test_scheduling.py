"""Delayed jobs, priorities and cancelling a running job."""

from __future__ import annotations

import asyncio
from datetime import datetime

from tests.support.backends import Backend
from tests.support.harness import api, run_burst, wait_for_status, worker_process
from ultudy.kinds import JobType

ALICE = {"x-user-id": "alice"}


async def test_delayed_job_waits_then_runs_and_survives_a_broker_flush(backend: Backend) -> None:
    settings = backend.settings()
    async with api(settings) as (client, state):
        record = await state.jobs.submit("alice", JobType.LESSON_GENERATION, {}, delay_s=1.5)
        assert record.run_at is not None
        assert await state.queues.state(JobType.LESSON_GENERATION, str(record.id)) == "delayed"
        counts = await state.queues.counts()
        assert counts["lesson-generation"]["delayed"] == 1
        await state.queues.redis.delete(
            *[k async for k in state.queues.redis.scan_iter(f"{backend.prefix}:*")]
        )
        await run_burst(settings)  # reconciles (re-adds with the remaining delay), then waits
        job = await wait_for_status(client, str(record.id), "completed", user="alice")
    started = datetime.fromisoformat(job["started_at"].replace("Z", "+00:00"))
    assert started >= record.run_at


async def test_default_priority_runs_before_background_work(backend: Backend) -> None:
    settings = backend.settings(concurrency_lesson_generation=1)
    async with api(settings) as (client, state):
        low = [
            await state.jobs.submit("alice", JobType.LESSON_GENERATION, {"i": i}, priority=5)
            for i in range(3)
        ]
        normal = [
            await state.jobs.submit("alice", JobType.LESSON_GENERATION, {"i": i}) for i in range(3)
        ]
        await run_burst(settings)
        jobs = [
            await wait_for_status(client, str(r.id), "completed", user="alice")
            for r in low + normal
        ]
    low_start = min(j["started_at"] for j in jobs[:3])
    normal_end = max(j["started_at"] for j in jobs[3:])
    assert normal_end < low_start


async def test_cancel_running_job_stops_it_at_the_next_checkpoint(backend: Backend) -> None:
    settings = backend.settings()
    assert settings.redis_url
    async with api(settings) as (client, state):
        record = await state.jobs.submit(
            "alice", JobType.MATERIAL_UPLOAD, {"steps": 100, "sleep_ms": 50}
        )
        async with worker_process(settings) as worker:
            running = asyncio.create_task(worker.run())
            try:
                await wait_for_status(client, str(record.id), "processing", user="alice")
                response = await client.post(f"/jobs/{record.id}/cancel", headers=ALICE)
                assert response.status_code == 200
                assert response.json()["status"] == "cancelled"

                async def bull_state() -> str:
                    return await state.queues.state(JobType.MATERIAL_UPLOAD, str(record.id))

                deadline = asyncio.get_running_loop().time() + 10
                while await bull_state() == "active":
                    assert asyncio.get_running_loop().time() < deadline, "job kept running"
                    await asyncio.sleep(0.05)
            finally:
                worker.stop_event.set()
                await asyncio.wait_for(running, 20)
        job = (await client.get(f"/jobs/{record.id}", headers=ALICE)).json()
    assert job["status"] == "cancelled"
    assert job["progress"] < 100
