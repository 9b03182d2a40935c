"""The job framework runs a kind it has never heard of: `echo_upper`, registered by the
test suite (tests/support/custom_kind.py) with its own queue, processor and concurrency."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.backends import Backend
from tests.support.custom_kind import ECHO_UPPER, ECHO_UPPER_QUEUE, KINDS
from tests.support.harness import api, run_burst, start_worker, stop, wait_for_status
from ultudy.errors import JobInputError
from ultudy.jobs.states import JobStatus

ALICE = {"x-user-id": "alice"}
CUSTOM = "tests.support.custom_kind:KINDS"


async def test_a_registered_kind_runs_end_to_end_in_process(backend: Backend) -> None:
    settings = backend.settings(processors=CUSTOM)
    async with api(settings, KINDS) as (client, state):
        record = await state.jobs.submit("alice", ECHO_UPPER, {"text": "hello"})
        assert await state.queues.state(ECHO_UPPER, str(record.id)) in {"waiting", "prioritized"}
        assert ECHO_UPPER_QUEUE in await state.queues.counts()
        await run_burst(settings, KINDS)
        job = await wait_for_status(client, str(record.id), "completed", user="alice")
        assert job["type"] == ECHO_UPPER
        assert job["result_data"] == {"text": "HELLO", "pid_attempt": 1}
        inline = await state.jobs.run_inline("alice", ECHO_UPPER, {"text": "sync"})
        assert inline.status == JobStatus.COMPLETED
        assert inline.result_data == {"text": "SYNC", "pid_attempt": 1}
        with pytest.raises(JobInputError, match="text must be a string"):
            await state.jobs.run_inline("alice", ECHO_UPPER, {"text": 1})


async def test_an_unregistered_type_is_refused_at_submit(backend: Backend) -> None:
    async with api(backend.settings()) as (_client, state):
        with pytest.raises(JobInputError, match="unknown job type 'echo_upper'"):
            await state.jobs.submit("alice", ECHO_UPPER, {"text": "x"})
        page = await state.jobs.list("alice")
        assert page.jobs == []


@pytest.mark.slow
async def test_a_worker_process_serves_the_registered_kind(
    backend: Backend, tmp_path: Path
) -> None:
    settings = backend.settings(processors=CUSTOM)
    async with api(settings, KINDS) as (client, state):
        record = await state.jobs.submit("alice", ECHO_UPPER, {"text": "from a worker"})
        worker = start_worker(
            backend.env(processors=CUSTOM),
            "--queues",
            ECHO_UPPER_QUEUE,
            "--burst",
            log=tmp_path / "worker.log",
        )
        try:
            job = await wait_for_status(
                client, str(record.id), "completed", user="alice", timeout=60
            )
        finally:
            code = stop(worker)
    assert code == 0, (tmp_path / "worker.log").read_text()
    assert job["result_data"] == {"text": "FROM A WORKER", "pid_attempt": 1}
