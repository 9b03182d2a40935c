"""Job dependencies (issue 14): a job waits for other jobs of its owner, runs once they have
all completed, is cancelled when one of them fails; released once, also by the reconciler."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tests.support.backends import Backend
from tests.support.harness import api, running_worker, wait_for_status, worker_process
from ultudy.api.state import AppState
from ultudy.jobs.dependencies import Dependencies
from ultudy.jobs.record import JobRecord
from ultudy.jobs.store import JobStore
from ultudy.kinds import JobType

ALICE = {"x-user-id": "alice"}
FAKE_PDF = b"%PDF-1.4\n% a test upload: the scripted processor does not read it\n"
SLOW = {"steps": 3, "sleep_ms": 100}


async def submit(state: AppState, data: dict[str, Any], *deps: JobRecord, **kw: Any) -> JobRecord:
    return await state.jobs.submit(
        "alice", JobType.LESSON_GENERATION, data, depends_on=[d.id for d in deps], **kw
    )


async def events_of(state: AppState, owner: str = "alice") -> list[dict[str, Any]]:
    entries = await state.queues.redis.xrange(state.events.key(owner))
    return [json.loads(fields["d"]) for _id, fields in entries]


async def test_a_job_waits_for_all_it_depends_on_then_runs_once(
    backend: Backend, tmp_path: Path
) -> None:
    settings = backend.settings()
    done = tmp_path / "done.txt"
    async with api(settings) as (client, state):
        first, second = await submit(state, SLOW), await submit(state, {**SLOW, "steps": 5})
        child = await submit(state, {"done_file": str(done)}, first, second)
        row = (await client.get(f"/jobs/{child.id}", headers=ALICE)).json()
        assert (row["status"], row["blocked"]) == ("pending", True)
        assert row["progress_message"] == "Waiting for 2 jobs"
        assert await state.queues.state(JobType.LESSON_GENERATION, str(child.id)) == "unknown"
        waiting = [e for e in await events_of(state) if e["type"] == "job.waiting"]
        assert {w["id"] for w in waiting[0]["waiting_for"]} == {str(first.id), str(second.id)}
        async with running_worker(settings):
            ran = await wait_for_status(client, str(child.id), "completed", user="alice")
        parents = [
            (await client.get(f"/jobs/{p.id}", headers=ALICE)).json() for p in (first, second)
        ]
        kinds = [e["type"] for e in await events_of(state) if e["job"]["id"] == str(child.id)]
    assert ran["started_at"] >= max(p["completed_at"] for p in parents)
    assert len(done.read_text().splitlines()) == 1
    assert kinds.count("job.queued") == 1
    # waiting for two, then for one (the first parent ended), then queued and run
    assert kinds[:3] == ["job.created", "job.waiting", "job.waiting"]


async def test_http_depends_on_names_unknown_foreign_and_failed_jobs(backend: Backend) -> None:
    async with api(backend.settings()) as (client, state):
        foreign = await state.jobs.submit("bob", JobType.LESSON_GENERATION, {})
        failed = await submit(state, {})
        await state.jobs.store.fail(failed.id, "no", owner_id="alice")
        done = await submit(state, {})
        await state.jobs.store.start(done.id, owner_id="alice")
        await state.jobs.store.complete(done.id, {}, owner_id="alice")

        async def upload(*ids: object) -> Any:
            return await client.post(
                "/upload/pdf-structured-async",
                params={"depends_on": [str(i) for i in ids]},
                files={"file": ("a.pdf", FAKE_PDF, "application/pdf")},
                headers=ALICE,
            )

        unknown = "00000000-0000-4000-8000-000000000000"
        for missing in (unknown, foreign.id):
            response = await upload(done.id, missing)
            assert response.status_code == 404, response.text
            assert str(missing) in response.json()["detail"]
        response = await upload(failed.id)
        assert response.status_code == 422
        assert str(failed.id) in response.json()["detail"]
        assert (await upload("not-a-job")).status_code == 422
        # Waiting for a job that already completed: queued at once, as any job.
        response = await upload(done.id)
        assert response.status_code == 202, response.text
        job_id = response.json()["job_id"]
        row = (await client.get(f"/jobs/{job_id}", headers=ALICE)).json()
        assert row["blocked"] is False
        assert await state.queues.state(JobType.MATERIAL_UPLOAD, job_id) in {"waiting", "wait"}


async def test_a_failed_job_cancels_its_dependents_transitively(backend: Backend) -> None:
    settings = backend.settings()
    async with api(settings) as (client, state):
        parent = await submit(state, {"fail": "input"})
        child = await submit(state, {}, parent)
        grandchild = await submit(state, {}, child)
        async with running_worker(settings):
            last = await wait_for_status(client, str(grandchild.id), "cancelled", user="alice")
        middle = (await client.get(f"/jobs/{child.id}", headers=ALICE)).json()
    assert middle["status"] == "cancelled"
    assert str(parent.id) in middle["error_message"]
    assert "failed" in middle["error_message"]
    assert str(child.id) in last["error_message"]
    assert "cancelled" in last["error_message"]


async def test_cancelling_a_job_cancels_what_waits_for_it(backend: Backend) -> None:
    async with api(backend.settings()) as (client, state):
        parent = await submit(state, {}, delay_s=60)
        child = await submit(state, {}, parent)
        response = await client.post(f"/jobs/{parent.id}/cancel", headers=ALICE)
        assert response.status_code == 200
        row = (await client.get(f"/jobs/{child.id}", headers=ALICE)).json()
    assert row["status"] == "cancelled"
    assert str(parent.id) in row["error_message"]


async def complete(store: JobStore, record: JobRecord) -> JobRecord:
    await store.start(record.id, owner_id=record.owner_id)
    done = await store.complete(record.id, {}, owner_id=record.owner_id)
    assert done is not None
    return done


async def test_concurrent_settles_release_the_job_once(backend: Backend) -> None:
    async with api(backend.settings()) as (_client, state):
        first, second = await submit(state, {}, delay_s=60), await submit(state, {}, delay_s=60)
        child = await submit(state, {}, first, second)
        ended = [await complete(state.jobs.store, p) for p in (first, second)]
        settlers = [Dependencies(state.jobs.store, state.queues, state.events) for _ in range(4)]
        await asyncio.gather(*(s.settle(e) for s in settlers for e in ended for _ in range(3)))
        await state.events.drain()
        queued = [
            e
            for e in await events_of(state)
            if e["type"] == "job.queued" and e["job"]["id"] == str(child.id)
        ]
        bull = await state.queues.state(JobType.LESSON_GENERATION, str(child.id))
    assert len(queued) == 1
    assert bull in {"waiting", "wait"}


async def test_the_reconciler_settles_what_a_dead_worker_left_after_a_broker_flush(
    backend: Backend,
) -> None:
    settings = backend.settings()
    async with api(settings) as (client, state):
        ok, bad = await submit(state, {}, delay_s=60), await submit(state, {}, delay_s=60)
        released, doomed = await submit(state, {}, ok), await submit(state, {}, bad)
        later = await submit(state, {}, delay_s=60)
        still = await submit(state, {}, later)
        # The parents end with no settle after them (as if their worker died right then).
        await complete(state.jobs.store, ok)
        await state.jobs.store.fail(bad.id, "gone", owner_id="alice")
        await state.queues.redis.delete(
            *[k async for k in state.queues.redis.scan_iter(f"{backend.prefix}:*")]
        )
        async with worker_process(settings) as worker:
            await worker.reconciler.run_once(min_age_s=0)
            await worker.reconciler.run_once(min_age_s=0)
        await state.events.drain()
        # A job still waiting is left as it is: no write, no new event per pass (the flush
        # above took the one of its submit).
        told = [
            e
            for e in await events_of(state)
            if e["type"] == "job.waiting" and e["job"]["id"] == str(still.id)
        ]
        assert told == []
        assert await state.queues.state(JobType.LESSON_GENERATION, str(still.id)) == "unknown"
        cancelled = (await client.get(f"/jobs/{doomed.id}", headers=ALICE)).json()
        assert cancelled["status"] == "cancelled"
        assert str(bad.id) in cancelled["error_message"]
        assert await state.queues.state(JobType.LESSON_GENERATION, str(released.id)) in {
            "waiting",
            "wait",
        }
        async with running_worker(settings):
            await wait_for_status(client, str(released.id), "completed", user="alice")


async def test_run_at_with_an_offset_past_now_and_bounds(backend: Backend) -> None:
    async with api(backend.settings()) as (client, state):

        async def upload(**params: Any) -> Any:
            return await client.post(
                "/upload/pdf-structured-async",
                params=params,
                files={"file": ("a.pdf", FAKE_PDF, "application/pdf")},
                headers=ALICE,
            )

        later = await upload(run_at="2099-01-01T10:00:00+02:00")
        assert later.status_code == 422
        assert "30 days" in later.text
        assert (await upload(run_at="2026-01-01T10:00:00")).status_code == 422  # no offset
        both = await upload(run_at="2020-01-01T00:00:00Z", delay_s=5)
        assert both.status_code == 422
        past = await upload(run_at="2020-01-01T00:00:00Z")
        assert past.status_code == 202
        past_id = past.json()["job_id"]
        assert (await client.get(f"/jobs/{past_id}", headers=ALICE)).json()["run_at"] is None
        assert await state.queues.state(JobType.MATERIAL_UPLOAD, past_id) in {"waiting", "wait"}
        ahead = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
        local = ahead.astimezone(timezone(timedelta(hours=5, minutes=30)))
        response = await upload(run_at=local.isoformat())
        assert response.status_code == 202, response.text
        job_id = response.json()["job_id"]
        row = (await client.get(f"/jobs/{job_id}", headers=ALICE)).json()
        assert row["run_at"] == ahead.isoformat().replace("+00:00", "Z")
        assert await state.queues.state(JobType.MATERIAL_UPLOAD, job_id) == "delayed"
