"""The reconciler pages through unfinished rows: a backlog waiting in the broker must not
hide a newer row whose job the broker lost."""

from __future__ import annotations

import pytest
from redis import Redis

from tests.support.backends import Backend
from tests.support.harness import api
from ultudy.jobs import reconciler as reconciler_module
from ultudy.jobs.reconciler import Reconciler
from ultudy.jobs.store import JobStore
from ultudy.kinds import JobType


async def test_a_backlog_of_a_page_does_not_hide_a_newer_lost_job(
    backend: Backend, redis_client: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reconciler_module, "PAGE_ROWS", 3)
    kind = JobType.CHECK_IN_EVALUATION
    async with api(backend.settings()) as (_client, state):
        for n in range(3):  # older rows, waiting in the broker (no worker runs)
            await state.jobs.submit("alice", kind, {"n": n})
        lost = await state.jobs.submit("alice", kind, {"n": "lost"})
        # The broker lost this one (not removed through BullMQ, which the reconciler takes
        # for an operator's "remove": tests/integration/test_bullmq_parity.py).
        queue = f"{backend.prefix}:{kind.queue_name}"
        # Her fourth job ranks behind her three (jobs.fairness): prioritized, not waiting.
        assert redis_client.zrem(f"{queue}:prioritized", str(lost.id)) == 1
        assert redis_client.delete(f"{queue}:{lost.id}") == 1
        reconciler = Reconciler(JobStore(state.db), state.queues, state.events)
        fixed = [await reconciler.run_once(min_age_s=0) for _ in range(2)]
        assert fixed == [0, 1]  # the first page was all live; the next one had the lost job
        # queued again, behind her three older jobs (jobs.fairness): prioritized
        assert await state.queues.state(kind, str(lost.id)) == "prioritized"
