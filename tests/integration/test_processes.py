"""Crashes, restarts and several workers, with real processes (`kill -9` included)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import update

from tests.support.backends import Backend
from tests.support.harness import (
    api,
    eventually,
    run_burst,
    start_worker,
    stop,
    wait_for_status,
    worker_process,
)
from ultudy.db.models import jobs
from ultudy.embedded import EmbeddedValkey
from ultudy.jobs import reconciler as reconciler_module
from ultudy.jobs.reconciler import Reconciler
from ultudy.jobs.store import JobStore
from ultudy.jobs.worker import WorkerCrashedError, WorkerProcess
from ultudy.kinds import JobType

pytestmark = pytest.mark.slow
FAST_STALL = {"lock_duration_ms": 1500, "stalled_interval_ms": 1000}


def done_lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


async def test_pending_jobs_survive_a_full_stop_and_start(backend: Backend, tmp_path: Path) -> None:
    broker = EmbeddedValkey(tmp_path / "broker-data")
    url = broker.start()
    try:
        settings = backend.settings(redis_url=url)
        async with api(settings) as (_client, state):
            ids = [
                (await state.jobs.submit("alice", JobType.MATERIAL_UPLOAD, {"i": i})).id
                for i in range(5)
            ]
    finally:
        broker.stop()  # everything is down now, with five jobs pending
    broker = EmbeddedValkey(tmp_path / "broker-data")
    url = broker.start()
    try:
        settings = backend.settings(redis_url=url)
        async with api(settings) as (client, state):
            assert (await state.queues.counts())["material-upload"]["waiting"] == 5
            await run_burst(settings)
            for job_id in ids:
                await wait_for_status(client, str(job_id), "completed", user="alice")
    finally:
        broker.stop()


async def test_kill_9_mid_job_another_worker_completes_it_once(
    backend: Backend, tmp_path: Path, redis_client: Redis
) -> None:
    settings = backend.settings(**FAST_STALL)
    env = backend.env(**FAST_STALL)
    done = tmp_path / "done.txt"
    async with api(settings) as (client, state):
        record = await state.jobs.submit(
            "alice",
            JobType.LESSON_GENERATION,
            {"steps": 20, "sleep_ms": 100, "done_file": str(done)},
        )
        first = start_worker(env, log=tmp_path / "w1.log")
        try:
            await wait_for_status(client, str(record.id), "processing", user="alice")
            await eventually(
                lambda: client.get(f"/jobs/{record.id}", headers={"x-user-id": "alice"}),
                lambda r: r.json()["progress_message"] is not None,
            )
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait()
        second = start_worker(env, log=tmp_path / "w2.log")
        try:
            job = await wait_for_status(
                client, str(record.id), "completed", user="alice", timeout=30
            )
        finally:
            assert stop(second) == 0
    assert job["attempts"] == 2
    assert len(done_lines(done)) == 1


async def test_broker_flush_reconciler_reenqueues_pending_jobs(
    backend: Backend, redis_client: Redis
) -> None:
    settings = backend.settings()
    async with api(settings) as (client, state):
        ids = [
            (await state.jobs.submit("alice", JobType.CHECK_IN_EVALUATION, {"i": i})).id
            for i in range(10)
        ]
        keys = list(redis_client.scan_iter(f"{backend.prefix}:*"))
        redis_client.delete(*keys)  # the broker lost everything
        assert (await state.queues.counts())["check-in-evaluation"]["waiting"] == 0
        await run_burst(settings)  # a starting worker reconciles first
        for job_id in ids:
            await wait_for_status(client, str(job_id), "completed", user="alice")


@pytest.mark.parametrize("row_says", ["processing", "pending"])
async def test_a_completion_lost_after_the_broker_finished_the_job_runs_it_again(
    backend: Backend, monkeypatch: pytest.MonkeyPatch, row_says: str
) -> None:
    """The worker writes a completion behind BullMQ's: a crash in between (or a database
    outage outlasting the write's retries) leaves a row behind its finished BullMQ job.
    The reconciler leaves it while the write may still be on its way, then runs the job
    again, the only way to get its result back."""
    settings = backend.settings()
    async with api(settings) as (client, state):
        record = await state.jobs.submit("alice", JobType.LESSON_GENERATION, {"echo": "x"})
        await run_burst(settings)
        first = await wait_for_status(client, str(record.id), "completed", user="alice")
        async with state.db.transaction(None) as conn:
            await conn.execute(
                update(jobs)
                .where(jobs.c.id == record.id)
                .values(status=row_says, result_data=None, completed_at=None)
            )
        reconciler = Reconciler(JobStore(state.db), state.queues, state.events)
        assert await reconciler.run_once(min_age_s=0) == 0  # BullMQ finished it just now
        monkeypatch.setattr(reconciler_module, "BEHIND_SETTLED_S", 0)
        assert await reconciler.run_once(min_age_s=0) == 1
        await run_burst(settings)
        again = await wait_for_status(client, str(record.id), "completed", user="alice")
    assert first["attempts"] == 1
    assert again["attempts"] == 2
    assert again["result_data"]["echo"] == "x"


async def test_several_worker_processes_run_every_job_once(
    backend: Backend, tmp_path: Path, redis_client: Redis
) -> None:
    settings = backend.settings()
    env = backend.env()
    done = tmp_path / "done.txt"
    async with api(settings) as (client, state):
        workers = [start_worker(env, log=tmp_path / f"w{i}.log") for i in range(3)]
        try:
            # All three must be taking jobs first, or the first one up runs the whole batch.
            logs = [tmp_path / f"w{i}.log" for i in range(3)]

            async def started() -> int:
                return sum("worker started" in log.read_text() for log in logs)

            await eventually(started, lambda n: n == 3, timeout=30)
            ids = [
                str(
                    (
                        await state.jobs.submit(
                            "alice",
                            JobType.MATERIAL_UPLOAD,
                            {"steps": 2, "sleep_ms": 20, "done_file": str(done)},
                        )
                    ).id
                )
                for _ in range(60)
            ]
            for job_id in ids:
                await wait_for_status(client, job_id, "completed", user="alice", timeout=60)
        finally:
            codes = [stop(w) for w in workers]
    assert codes == [0, 0, 0]
    lines = done_lines(done)
    assert sorted(line.split()[0] for line in lines) == sorted(ids)
    assert len({line.split()[1] for line in lines}) >= 2, "work was not shared"


async def test_sigterm_lets_the_active_job_finish(backend: Backend, tmp_path: Path) -> None:
    settings = backend.settings()
    env = backend.env()
    async with api(settings) as (client, state):
        worker = start_worker(env, log=tmp_path / "w.log")
        record = await state.jobs.submit(
            "alice", JobType.LESSON_GENERATION, {"steps": 10, "sleep_ms": 100}
        )
        await wait_for_status(client, str(record.id), "processing", user="alice")
        worker.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(worker.wait, 20)
        job = (await client.get(f"/jobs/{record.id}", headers={"x-user-id": "alice"})).json()
    assert code == 0
    assert job["status"] == "completed"


class ReturningLoopWorker(WorkerProcess):
    """A worker whose bullmq run loop returns on its own, as bullmq's does after an error."""

    def make_bull_worker(self, name: str) -> object:
        worker = super().make_bull_worker(name)

        async def returns_at_once() -> None:
            return None

        worker.run = returns_at_once  # type: ignore[attr-defined]
        return worker


async def test_a_returning_run_loop_is_a_crash_not_an_idle_worker(backend: Backend) -> None:
    settings = backend.settings()
    assert settings.redis_url
    async with worker_process(settings, kind=ReturningLoopWorker) as process:
        with pytest.raises(WorkerCrashedError, match="run loop returned"):
            await asyncio.wait_for(process.run(), timeout=20)
