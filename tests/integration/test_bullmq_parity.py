"""BullMQ parity: node bullmq (the library Bull Board and Taskforce are built on) reads
what our worker wrote, and its operator actions (retry, remove, promote) end in our rows.

The node side is tests/node/bullmq_tool.mjs with bullmq from npm (`npm ci` in
tests/node, run by `make test-deps`)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from tests.support.backends import Backend
from tests.support.harness import ROOT, api, eventually, wait_for_status, worker_process
from ultudy.api.state import AppState
from ultudy.config import Settings
from ultudy.jobs.reconciler import REMOVED_MESSAGE
from ultudy.jobs.worker import WorkerProcess
from ultudy.kinds import JobType

NODE_DIR = ROOT / "tests" / "node"
QUEUE = "lesson-generation"
ALICE = {"x-user-id": "alice"}


async def node_bullmq(backend: Backend, queue: str, **command: Any) -> Any:
    """Run one command of bullmq_tool.mjs; its JSON answer."""
    node = shutil.which("node")
    assert node, "node is not installed"
    assert (NODE_DIR / "node_modules" / "bullmq").is_dir(), (
        "node bullmq is not installed: run `make test-deps` (npm ci in tests/node)"
    )
    payload = {"redis": backend.redis_url, "prefix": backend.prefix, "queue": queue, **command}
    proc = await asyncio.create_subprocess_exec(
        node,
        str(NODE_DIR / "bullmq_tool.mjs"),
        json.dumps(payload),
        cwd=NODE_DIR,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    return json.loads(out)


@asynccontextmanager
async def running_worker(settings: Settings) -> AsyncIterator[WorkerProcess]:
    async with worker_process(settings) as worker:
        task = asyncio.create_task(worker.run())
        try:
            yield worker
        finally:
            worker.stop_event.set()
            await asyncio.wait_for(task, 30)


async def test_node_bullmq_reads_progress_result_logs_and_workers(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # the worker's log level (ULTUDY_LOG_LEVEL's default)
    settings = backend.settings()
    async with api(settings) as (client, state), running_worker(settings) as worker:
        done = await state.jobs.submit(
            "alice",
            JobType.LESSON_GENERATION,
            {"steps": 4, "sleep_ms": 20, "echo": "hi", "log": "reading the section"},
        )
        bad = await state.jobs.submit("alice", JobType.LESSON_GENERATION, {"fail": "input"})
        await wait_for_status(client, str(done.id), "completed", user="alice")
        await wait_for_status(client, str(bad.id), "failed", user="alice")

        async def read() -> Any:
            return await node_bullmq(backend, QUEUE, action="read", ids=[str(done.id), str(bad.id)])

        # the row's completion is written behind BullMQ's; its progress 100 a moment later
        seen = await eventually(read, lambda r: r["jobs"][str(done.id)]["progress"] == 100)
        ours = await state.queues.workers()
        names = {str(name) for name in worker.workers}

    job = seen["jobs"][str(done.id)]
    assert job["state"] == "completed"
    assert job["returnvalue"] == {
        "status": "completed",
        "result": {"echo": "hi", "steps": 4, "attempt": 1},
    }
    assert "INFO tests.support.processors: reading the section" in job["logs"]
    assert [line for line in job["logs"] if "% step" in line] == [
        f"{pct}% step {n} of 4" for n, pct in enumerate((25, 50, 75, 100), start=1)
    ]
    failed = seen["jobs"][str(bad.id)]
    assert failed["state"] == "failed"
    assert failed["failedReason"] == "The input says no."
    assert any("job failed: The input says no." in line for line in failed["logs"])

    # node bullmq's getWorkers() finds our worker, once: one connection named its way
    b64 = base64.b64encode(QUEUE.encode()).decode()
    assert seen["workers"] == [f"{backend.prefix}:{b64}:w:{QUEUE}"]
    assert seen["workersCount"] == 1
    assert QUEUE in names
    assert {queue: len(found) for queue, found in ours.items()} == dict.fromkeys(names, 1)


async def bull_state(state: AppState, job_id: Any) -> str:
    return await state.queues.state(JobType.LESSON_GENERATION, str(job_id))


async def test_operator_retry_remove_and_promote_end_in_the_rows(backend: Backend) -> None:
    settings = backend.settings(max_attempts=1)
    lesson = JobType.LESSON_GENERATION
    async with api(settings) as (client, state), running_worker(settings):
        crashed = await state.jobs.submit("alice", lesson, {"crash_until_attempt": 1})
        finished = await state.jobs.submit("alice", lesson, {"echo": "first"})
        removed = await state.jobs.submit("alice", lesson, {}, delay_s=600)
        promoted = await state.jobs.submit("alice", lesson, {"echo": "early"}, delay_s=600)
        failed_row = await wait_for_status(client, str(crashed.id), "failed", user="alice")
        first = await wait_for_status(client, str(finished.id), "completed", user="alice")
        assert failed_row["attempts"] == 1

        # Bull Board's "retry" on the failed job: it runs again, and the row follows
        await node_bullmq(backend, QUEUE, action="retry", id=str(crashed.id))
        again = await wait_for_status(client, str(crashed.id), "completed", user="alice")
        assert again["attempts"] == 2
        assert again["error_message"] is None
        assert again["result_data"] == {"echo": None, "steps": 1, "attempt": 2}

        # "retry" on a completed job: not run again; BullMQ says completed, with its result
        await node_bullmq(backend, QUEUE, action="retry", id=str(finished.id), state="completed")
        read = await eventually(
            lambda: node_bullmq(backend, QUEUE, action="read", ids=[str(finished.id)]),
            lambda r: (
                r["jobs"][str(finished.id)]["state"] == "completed"
                and r["jobs"][str(finished.id)]["returnvalue"].get("not_run_again") is True
            ),
        )
        assert read["jobs"][str(finished.id)]["returnvalue"]["result"]["echo"] == "first"
        row = (await client.get(f"/jobs/{finished.id}", headers=ALICE)).json()
        assert (row["status"], row["completed_at"], row["attempts"]) == (
            "completed",
            first["completed_at"],
            1,
        )

        # "promote" on a delayed job: it runs now
        assert await bull_state(state, promoted.id) == "delayed"
        await node_bullmq(backend, QUEUE, action="promote", id=str(promoted.id))
        ran = await wait_for_status(client, str(promoted.id), "completed", user="alice")
        assert ran["result_data"]["echo"] == "early"

        # "remove" on a queued job: the reconciler (every 0.5 s here) cancels its row
        answer = await node_bullmq(backend, QUEUE, action="remove", id=str(removed.id))
        assert answer["state"] == "unknown"
        gone = await wait_for_status(client, str(removed.id), "cancelled", user="alice")
        assert gone["error_message"] == REMOVED_MESSAGE
        assert await bull_state(state, removed.id) == "unknown"  # not added back


async def test_operator_retry_of_a_cancelled_job_is_refused(backend: Backend) -> None:
    settings = backend.settings()
    upload = JobType.MATERIAL_UPLOAD
    async with api(settings) as (client, state), running_worker(settings):
        record = await state.jobs.submit("alice", upload, {"steps": 100, "sleep_ms": 50})
        await wait_for_status(client, str(record.id), "processing", user="alice")
        response = await client.post(f"/jobs/{record.id}/cancel", headers=ALICE)
        assert response.status_code == 200

        async def read() -> Any:
            answer = await node_bullmq(
                backend, "material-upload", action="read", ids=[str(record.id)]
            )
            return answer["jobs"][str(record.id)]

        await eventually(read, lambda job: job["state"] == "failed")
        await node_bullmq(backend, "material-upload", action="retry", id=str(record.id))
        refused = await eventually(
            read, lambda job: job["state"] == "failed" and "Not run" in job["failedReason"]
        )
        assert refused["failedReason"] == "Not run: the job is cancelled; it is not run again."
        row = (await client.get(f"/jobs/{record.id}", headers=ALICE)).json()
    assert row["status"] == "cancelled"
    assert row["progress"] < 100


async def test_a_job_the_reconciler_removed_to_run_again_is_not_taken_for_an_operators(
    backend: Backend,
) -> None:
    """The reconciler removes a completed BullMQ job whose row lost its completion, then
    adds it again; a worker killed between the two leaves a `removed` event (prev
    `completed`) and no job: the job is lost, not removed by an operator, and runs."""
    settings = backend.settings()
    lesson = JobType.LESSON_GENERATION
    async with api(settings) as (client, state):
        record = await state.jobs.submit("alice", lesson, {})
        queue = f"{backend.prefix}:{QUEUE}"
        redis = state.queues.redis
        assert await redis.lrem(f"{queue}:wait", 0, str(record.id)) == 1
        assert await redis.delete(f"{queue}:{record.id}") == 1
        await redis.xadd(
            f"{queue}:events", {"event": "removed", "jobId": str(record.id), "prev": "completed"}
        )
        async with worker_process(settings) as worker:
            assert await worker.reconciler.run_once(min_age_s=0) == 1
        assert await bull_state(state, record.id) == "waiting"
        row = (await client.get(f"/jobs/{record.id}", headers=ALICE)).json()
    assert row["status"] == "pending"
