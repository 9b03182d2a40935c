"""The job lifecycle end to end: API in-process, a real worker, real SQL and Redis."""

from __future__ import annotations

import uuid

from tests.support.backends import Backend
from tests.support.harness import api, run_burst, wait_for_status
from tests.support.sections import a_section
from ultudy.jobs.context import JobContext
from ultudy.jobs.states import JobStatus
from ultudy.kinds import JobType

ALICE = {"x-user-id": "alice"}


async def test_job_runs_to_completed_with_progress_and_result(backend: Backend) -> None:
    settings = backend.settings()
    async with api(settings) as (client, state):
        record = await state.jobs.submit(
            "alice", JobType.LESSON_GENERATION, {"steps": 4, "echo": "hi"}
        )
        pending = (await client.get(f"/jobs/{record.id}", headers=ALICE)).json()
        assert pending["status"] == "pending"
        assert pending["progress"] == 0
        await run_burst(settings)
        job = await wait_for_status(client, str(record.id), "completed", user="alice")
    assert job["progress"] == 100
    assert job["result_data"] == {"echo": "hi", "steps": 4, "attempt": 1}
    assert job["attempts"] == 1
    assert job["error_message"] is None
    assert job["created_at"].endswith("Z")
    assert job["started_at"] <= job["completed_at"]


async def test_expected_failure_fails_at_once_without_retry(backend: Backend) -> None:
    settings = backend.settings(max_attempts=3)
    async with api(settings) as (client, state):
        record = await state.jobs.submit("alice", JobType.MATERIAL_UPLOAD, {"fail": "input"})
        await run_burst(settings)
        job = await wait_for_status(client, str(record.id), "failed", user="alice")
    assert job["error_message"] == "The input says no."
    assert job["attempts"] == 1


async def test_unexpected_failure_retries_then_succeeds(backend: Backend) -> None:
    settings = backend.settings(max_attempts=3)
    async with api(settings) as (client, state):
        record = await state.jobs.submit(
            "alice", JobType.CHECK_IN_EVALUATION, {"crash_until_attempt": 2}
        )
        await run_burst(settings)
        job = await wait_for_status(client, str(record.id), "completed", user="alice")
    assert job["attempts"] == 3
    assert job["result_data"]["attempt"] == 3


async def test_unexpected_failure_exhausts_attempts_then_fails_without_trace(
    backend: Backend,
) -> None:
    settings = backend.settings(max_attempts=2)
    async with api(settings) as (client, state):
        record = await state.jobs.submit(
            "alice", JobType.CHECK_IN_EVALUATION, {"crash_until_attempt": 5}
        )
        await run_burst(settings)
        job = await wait_for_status(client, str(record.id), "failed", user="alice")
    assert job["attempts"] == 2
    assert "internal error" in job["error_message"]
    assert "boom" not in job["error_message"]
    assert "Traceback" not in job["error_message"]


async def test_a_result_that_is_not_json_fails_its_job_alone(backend: Backend) -> None:
    """Completions of many jobs share one row write: one that cannot be stored must fail
    in its own job (retried, then failed), not take the others' writes down with it."""
    settings = backend.settings(max_attempts=2)
    async with api(settings) as (client, state):
        bad = await state.jobs.submit("alice", JobType.LESSON_GENERATION, {"unstorable": 1})
        good = [
            await state.jobs.submit("alice", JobType.LESSON_GENERATION, {"echo": i})
            for i in range(5)
        ]
        await run_burst(settings)
        failed = await wait_for_status(client, str(bad.id), "failed", user="alice")
        done = [await wait_for_status(client, str(r.id), "completed", user="alice") for r in good]
    assert failed["attempts"] == 2
    assert "internal error" in failed["error_message"]
    assert [job["result_data"]["echo"] for job in done] == list(range(5))
    assert {job["attempts"] for job in done} == {1}


async def test_completed_job_never_goes_back(backend: Backend) -> None:
    settings = backend.settings()
    async with api(settings) as (client, state):
        record = await state.jobs.submit("alice", JobType.LESSON_GENERATION, {})
        await run_burst(settings)
        await wait_for_status(client, str(record.id), "completed", user="alice")
        store = state.jobs.store
        assert await store.start(record.id, owner_id="alice") is None
        assert await store.fail(record.id, "late", owner_id="alice") is None
        assert await store.cancel(record.id, owner_id="alice") is None
        again = await store.get(record.id, owner_id="alice")
    assert again is not None
    assert again.status == JobStatus.COMPLETED


async def test_malformed_and_unknown_ids_are_client_errors(backend: Backend) -> None:
    async with api(backend.settings()) as (client, _state):
        for bad in ("not-a-uuid", "123", "%20", "00000000-0000-0000-0000-00000000000g"):
            response = await client.get(f"/jobs/{bad}", headers=ALICE)
            assert response.status_code in (404, 422), (bad, response.status_code)
        missing = await client.get(f"/jobs/{uuid.uuid4()}", headers=ALICE)
        assert missing.status_code == 404
        assert missing.json()["detail"] == "Job not found"


async def test_sync_endpoint_runs_inline_and_reports_an_internal_error_cleanly(
    backend: Backend,
) -> None:
    # The sync route answers its type's declared result (api/schemas/lessons.py).
    lesson_shaped = {JobType.LESSON_GENERATION: _a_lesson}
    async with api(backend.settings(), lesson_shaped) as (client, state):
        body = await a_section(state.db, "alice")
        ok = await client.post("/lessons/generate", json=body, headers=ALICE)
        assert ok.status_code == 200, ok.text
        assert ok.json() == {
            "cached": False,
            "lesson_id": "made inline",
            "summary": "1",
            "concepts": [],
            "questions": [],
        }
    crashing = {JobType.LESSON_GENERATION: _always_crashes}
    async with api(backend.settings(), crashing) as (client, _state):
        broken = await client.post("/lessons/generate", json=body, headers=ALICE)
    assert broken.status_code == 500
    assert "internal error" in broken.json()["detail"]
    assert "kaput" not in broken.json()["detail"]


async def _a_lesson(ctx: JobContext, _data: object) -> dict[str, object]:
    return {
        "cached": False,
        "lesson_id": "made inline",
        "summary": str(ctx.attempt),
        "concepts": [],
        "questions": [],
    }


async def _always_crashes(_ctx: object, _data: object) -> dict[str, object]:
    raise RuntimeError("kaput")
