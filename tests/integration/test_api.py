"""The job API: listing, pagination, filters, identity, isolation and health."""

from __future__ import annotations

import pytest

from tests.support.backends import Backend
from tests.support.harness import api, run_burst
from ultudy.api.auth import create_token
from ultudy.kinds import JobType

ALICE = {"x-user-id": "alice"}
BOB = {"x-user-id": "bob"}


async def test_list_is_newest_first_with_cursor_pages_and_filters(backend: Backend) -> None:
    async with api(backend.settings()) as (client, state):
        ids = []
        for i in range(7):
            kind = JobType.LESSON_GENERATION if i % 2 else JobType.MATERIAL_UPLOAD
            ids.append(str((await state.jobs.submit("alice", kind, {"i": i})).id))
        await state.jobs.submit("bob", JobType.MATERIAL_UPLOAD, {})
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            body = (await client.get("/jobs", params=params, headers=ALICE)).json()
            seen += [job["id"] for job in body["jobs"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert seen == list(reversed(ids))
        lessons = (await client.get("/jobs?type=lesson_generation", headers=ALICE)).json()
        assert {j["type"] for j in lessons["jobs"]} == {"lesson_generation"}
        assert len(lessons["jobs"]) == 3
        pending = (await client.get("/jobs?status=pending&limit=100", headers=ALICE)).json()
        assert len(pending["jobs"]) == 7
        done = (await client.get("/jobs?status=completed", headers=ALICE)).json()
        assert done["jobs"] == []


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("status=done", "status"),
        ("type=video", "type"),
        ("cursor=garbage!", "cursor"),
    ],
)
async def test_bad_list_queries_are_422_with_a_message(
    backend: Backend, query: str, fragment: str
) -> None:
    async with api(backend.settings()) as (client, _state):
        response = await client.get(f"/jobs?{query}", headers=ALICE)
    assert response.status_code == 422
    assert fragment in response.text


async def test_other_owner_gets_404_and_an_empty_list(backend: Backend) -> None:
    async with api(backend.settings()) as (client, state):
        record = await state.jobs.submit("alice", JobType.LESSON_GENERATION, {"secret": 1})
        assert (await client.get(f"/jobs/{record.id}", headers=BOB)).status_code == 404
        assert (await client.get("/jobs", headers=BOB)).json()["jobs"] == []
        cancel = await client.post(f"/jobs/{record.id}/cancel", headers=BOB)
        assert cancel.status_code == 404
        mine = await client.get(f"/jobs/{record.id}", headers=ALICE)
        assert mine.status_code == 200
        assert mine.json()["status"] == "pending"


async def test_no_identity_is_401(backend: Backend) -> None:
    async with api(backend.settings()) as (client, _state):
        assert (await client.get("/jobs")).status_code == 401
        bad = await client.get("/jobs", headers={"x-user-id": "a b\n"})
        assert bad.status_code == 401
        assert "user id" in bad.json()["detail"]


async def test_token_mode_takes_identity_from_signed_token(backend: Backend) -> None:
    settings = backend.settings(auth="token", secret_key="k" * 40)
    alice = {"authorization": f"Bearer {create_token(settings, 'alice')}"}
    admin = {"authorization": f"Bearer {create_token(settings, 'ops', admin=True)}"}
    forged = {
        "authorization": f"Bearer {create_token(backend.settings(auth='token', secret_key='x' * 40), 'alice')}"
    }
    async with api(settings) as (client, state):
        record = await state.jobs.submit("alice", JobType.LESSON_GENERATION, {})
        assert (await client.get(f"/jobs/{record.id}", headers=alice)).status_code == 200
        assert (await client.get(f"/jobs/{record.id}", headers=ALICE)).status_code == 401
        assert (await client.get(f"/jobs/{record.id}", headers=forged)).status_code == 401
        assert (await client.get("/jobs/health/queues", headers=alice)).status_code == 403
        assert (await client.get("/jobs/health/queues", headers=admin)).status_code == 200


async def test_health_reports_counts_workers_and_round_trips(backend: Backend) -> None:
    settings = backend.settings()
    async with api(settings) as (client, state):
        for _ in range(3):
            await state.jobs.submit("alice", JobType.MATERIAL_UPLOAD, {})
        body = (await client.get("/jobs/health/queues", headers=ALICE)).json()
        assert body["status"] == "ok"
        assert body["queues"]["material-upload"]["waiting"] == 3
        assert body["queues"]["lesson-generation"]["waiting"] == 0
        assert body["database"]["reachable"] is True
        assert body["broker"]["rtt_ms"] >= 0
        assert body["broker"]["eviction_policy"] == "noeviction"
        assert any("no live worker" in w for w in body["warnings"])
        await run_burst(settings)
        after = (await client.get("/jobs/health/queues", headers=ALICE)).json()
    assert after["queues"]["material-upload"]["completed"] == 3
    assert after["queues"]["material-upload"]["waiting"] == 0


async def test_health_is_503_when_the_broker_is_unreachable(backend: Backend) -> None:
    settings = backend.settings()
    async with api(settings) as (client, state):
        await state.queues.redis.aclose()
        state.queues.redis = type(state.queues.redis).from_url("redis://127.0.0.1:1/0")
        response = await client.get("/jobs/health/queues", headers=ALICE)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["broker"]["reachable"] is False
    assert body["database"]["reachable"] is True


async def test_cancel_pending_job_removes_it_from_the_queue(backend: Backend) -> None:
    settings = backend.settings()
    async with api(settings) as (client, state):
        record = await state.jobs.submit("alice", JobType.LESSON_GENERATION, {})
        response = await client.post(f"/jobs/{record.id}/cancel", headers=ALICE)
        assert response.status_code == 200
        assert response.json()["status"] == "cancelled"
        assert await state.queues.state(JobType.LESSON_GENERATION, str(record.id)) == "unknown"
        again = await client.post(f"/jobs/{record.id}/cancel", headers=ALICE)
        assert again.status_code == 409
        retried = await client.post(f"/jobs/{record.id}/retry", headers=ALICE)
        assert retried.status_code == 202
        await run_burst(settings)
        new = (await client.get(f"/jobs/{retried.json()['job_id']}", headers=ALICE)).json()
    assert new["status"] == "completed"


async def test_metrics_expose_queue_counts_and_row_statuses(backend: Backend) -> None:
    async with api(backend.settings()) as (client, state):
        await state.jobs.submit("alice", JobType.MATERIAL_UPLOAD, {})
        text = (await client.get("/metrics", headers=ALICE)).text
    assert 'ultudy_queue_jobs{queue="material-upload",state="waiting"} 1.0' in text
    assert 'ultudy_jobs_rows{status="pending"} 1.0' in text


@pytest.mark.filterwarnings("ignore:IMPORTANT! Eviction policy")
async def test_an_evicting_broker_is_reported(backend: Backend, tmp_path: object) -> None:
    from pathlib import Path

    from ultudy.embedded import EmbeddedValkey

    broker = EmbeddedValkey(Path(str(tmp_path)) / "evicting")
    url = broker.start()
    try:
        async with api(backend.settings(redis_url=url)) as (client, state):
            await state.queues.redis.config_set("maxmemory-policy", "allkeys-lru")
            body = (await client.get("/jobs/health/queues", headers=ALICE)).json()
    finally:
        broker.stop()
    assert body["broker"]["eviction_policy"] == "allkeys-lru"
    assert any("noeviction" in w for w in body["warnings"])
