"""What the front door remembers between submits (issue 16) and where it stops: a
section seen a moment ago is not looked up again, but a deleted document's sections are
forgotten at once and a missing section is never remembered; a user's pending count
stands for a second while well under the cap, and a refusal always rests on a fresh one."""

from __future__ import annotations

import uuid
from collections.abc import Collection

import pytest

from tests.support.backends import Backend
from tests.support.harness import api
from tests.support.sections import a_section
from ultudy.jobs.caps import FRESH_S, PendingCap, TooManyJobsError
from ultudy.jobs.states import JobStatus
from ultudy.kinds import JobType

ALICE = {"x-user-id": "alice"}
LESSON = JobType.LESSON_GENERATION


async def test_a_seen_section_is_forgotten_when_its_document_is_deleted(
    backend: Backend,
) -> None:
    async with api(backend.settings()) as (client, state):
        body = await a_section(state.db, "alice")
        first = await client.post("/lessons/generate-async", json=body, headers=ALICE)
        assert first.status_code == 202, first.text
        key = ("alice", uuid.UUID(body["document_id"]), uuid.UUID(body["section_id"]))
        assert key in state.sections_seen
        # Bob may not borrow Alice's yes.
        bob = await client.post("/lessons/generate-async", json=body, headers={"x-user-id": "bob"})
        assert bob.status_code == 404, bob.text
        await state.jobs.cancel("alice", uuid.UUID(first.json()["job_id"]))
        deleted = await client.delete(f"/documents/{body['document_id']}", headers=ALICE)
        assert deleted.status_code == 204, deleted.text
        assert key not in state.sections_seen
        again = await client.post("/lessons/generate-async", json=body, headers=ALICE)
        assert again.status_code == 404, again.text
        assert again.json()["detail"] == "No such section in that document"


async def test_a_missing_section_is_never_remembered(backend: Backend) -> None:
    async with api(backend.settings()) as (client, state):
        body = await a_section(state.db, "alice")
        wrong = {**body, "section_id": str(uuid.uuid4())}
        for _ in range(2):
            refused = await client.post("/lessons/generate-async", json=wrong, headers=ALICE)
            assert refused.status_code == 404, refused.text
        assert len(state.sections_seen._seen) == 0


class CountingCap(PendingCap):
    counts = 0

    async def pending_and_rank(
        self, owner_id: str, queue_types: Collection[str] = (), priority: int = 0
    ) -> tuple[int, int]:
        self.counts += 1
        return await super().pending_and_rank(owner_id, queue_types, priority)


async def test_a_count_stands_for_a_second_and_a_refusal_is_fresh(backend: Backend) -> None:
    now = [0.0]
    async with api(backend.settings(max_pending_jobs_per_user=1000)) as (_client, state):
        cap = CountingCap(state.db, 5, clock=lambda: now[0])
        for _ in range(3):  # under the cap: one count for the three
            async with cap.admit("alice"):
                await state.jobs.submit("alice", LESSON, {})
        assert cap.counts == 1
        # Another process adds two rows: within the second, this one does not know yet.
        for _ in range(2):
            await state.jobs.submit("alice", LESSON, {})
        now[0] += FRESH_S + 0.1
        with pytest.raises(TooManyJobsError, match="You have 5 jobs waiting"):
            async with cap.admit("alice"):
                pass
        assert cap.counts == 2
        # At the cap every submit counts afresh; a cancel makes room at once.
        with pytest.raises(TooManyJobsError):
            async with cap.admit("alice"):
                pass
        assert cap.counts == 3
        page = await state.jobs.list("alice", status=JobStatus.PENDING)
        await state.jobs.cancel("alice", page.jobs[0].id)
        async with cap.admit("alice"):
            pass
        assert cap.counts == 4
