"""Per-user cap on pending jobs: the next submit past `ULTUDY_MAX_PENDING_JOBS_PER_USER`
is a 429 with Retry-After, on every async endpoint and on retry; other users are free."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from tests.support.backends import Backend
from tests.support.harness import api
from ultudy.jobs.caps import TooManyJobsError
from ultudy.kinds import JobType

PDF = Path(__file__).resolve().parents[1] / "data" / "pdfs" / "deb-asymptote-doc__CAD.pdf"
ALICE = {"x-user-id": "alice"}
BOB = {"x-user-id": "bob"}
LESSON = JobType.LESSON_GENERATION


async def test_a_submit_past_the_cap_is_429_with_retry_after(backend: Backend) -> None:
    async with api(backend.settings(max_pending_jobs_per_user=3)) as (client, state):
        cancelled = await state.jobs.submit("alice", LESSON, {})
        await state.jobs.cancel("alice", cancelled.id)  # not pending: does not count
        for _ in range(3):  # no worker runs: they stay pending (one delayed a week)
            await state.jobs.submit("alice", LESSON, {}, delay_s=7 * 24 * 3600)
        files = {"file": ("a.pdf", PDF.read_bytes(), "application/pdf")}
        refused = [
            await client.post("/upload/pdf-structured-async", files=files, headers=ALICE),
            await client.post(f"/jobs/{cancelled.id}/retry", headers=ALICE),
        ]
        for response in refused:
            assert response.status_code == 429, response.text
            assert response.headers["retry-after"] == "30"
            assert "You have 3 jobs waiting" in response.json()["detail"]
            assert "the limit is 3" in response.json()["detail"]
        pending = (await client.get("/jobs?status=pending", headers=ALICE)).json()["jobs"]
        assert len(pending) == 3
        bob = await client.post("/upload/pdf-structured-async", files=files, headers=BOB)
        assert bob.status_code == 202, bob.text
        await state.jobs.cancel("alice", uuid.UUID(pending[0]["id"]))
        again = await client.post(f"/jobs/{cancelled.id}/retry", headers=ALICE)
        assert again.status_code == 202, again.text


async def test_a_concurrent_burst_does_not_pass_the_cap(backend: Backend) -> None:
    async with api(backend.settings(max_pending_jobs_per_user=5)) as (_client, state):
        outcomes = await asyncio.gather(
            *(state.jobs.submit("alice", LESSON, {}) for _ in range(30)), return_exceptions=True
        )
        accepted = [o for o in outcomes if not isinstance(o, BaseException)]
        assert all(isinstance(o, TooManyJobsError) for o in outcomes if o not in accepted)
        assert 1 <= len(accepted) <= 5
        cap = state.jobs.pending_cap
        assert cap is not None
        assert await cap.pending("alice") == len(accepted)
