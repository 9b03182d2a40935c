"""A job's terminal event goes out once: a second publish of it is dropped, and one that
never went out (its worker killed between the row's write and the event) is published by
the reconciler (jobs.announce)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from redis.asyncio import Redis
from sqlalchemy import update

from tests.support.backends import Backend
from tests.support.harness import api
from ultudy.db.models import jobs
from ultudy.db.types import utcnow
from ultudy.jobs import announce
from ultudy.jobs.announce import SETTLE_S, Announcer
from ultudy.jobs.events import EventLog
from ultudy.jobs.reconciler import Reconciler
from ultudy.jobs.record import JobRecord
from ultudy.jobs.store import JobStore
from ultudy.kinds import JobType


async def terminal_events(log: EventLog, owner_id: str) -> Counter[tuple[str, str]]:
    """(job id, event type) -> how many, in the owner's stream."""
    events = await log.read(owner_id, after="0", block_ms=None, count=1000)
    return Counter(
        (e.data["job"]["id"], e.type) for e in events if e.type in ("job.completed", "job.failed")
    )


async def test_a_lost_terminal_event_is_published_once_by_the_reconciler(
    backend: Backend,
) -> None:
    async with api(backend.settings()) as (_client, state):
        store = JobStore(state.db)
        kind = JobType.LESSON_GENERATION
        sent, lost, lost_failure, waiting = [
            await state.jobs.submit("alice", kind, {"n": n}) for n in range(4)
        ]
        ended: list[JobRecord] = []
        for record in (sent, lost):
            assert await store.start(record.id, owner_id="alice") is not None
            done = await store.complete(record.id, {"n": 1}, owner_id="alice")
            assert done is not None
            ended.append(done)
        for _ in range(2):  # the second is dropped
            state.events.publish_job("job.completed", ended[0])
        assert await store.fail(lost_failure.id, "It broke.", owner_id="alice") is not None
        async with state.db.transaction(None) as conn:  # settled: older than SETTLE_S
            await conn.execute(
                update(jobs).values(updated_at=utcnow() - timedelta(seconds=SETTLE_S + 1))
            )
        reconciler = Reconciler(store, state.queues, state.events)
        await reconciler.run_once(min_age_s=0)
        await state.events.drain()
        assert await reconciler.announcer.run_once() == 0  # all out now
        await state.events.drain()
        seen = await terminal_events(state.events, "alice")
        assert seen == {
            (str(sent.id), "job.completed"): 1,
            (str(lost.id), "job.completed"): 1,
            (str(lost_failure.id), "job.failed"): 1,
        }, seen
        assert all(job_id != str(waiting.id) for job_id, _ in seen)
        recovered = [
            e
            for e in await state.events.read("alice", after="0", block_ms=None)
            if e.type == "job.completed" and e.data["job"]["id"] == str(lost.id)
        ]
        assert recovered[0].data["job"]["status"] == "completed"
        assert recovered[0].data["job"]["result_data"] == {"n": 1}


async def test_a_terminal_event_goes_out_once_in_a_batch_or_later(backend: Backend) -> None:
    redis = Redis.from_url(backend.redis_url, decode_responses=True)
    log = EventLog(redis, prefix=backend.prefix, maxlen=1000, ttl_s=120, linger_s=0.01)
    other = EventLog(redis, prefix=backend.prefix, maxlen=1000, ttl_s=120)  # another process
    job = {"id": "job-1", "status": "completed"}
    try:
        for kind in ("job.progress", "job.completed", "job.completed", "job.failed"):
            log.publish("alice", kind, {"job": job})
        await log.drain()
        other.publish("alice", "job.completed", {"job": job})
        await other.drain()
        events = await log.read("alice", after="0", block_ms=None)
        assert [e.type for e in events] == ["job.progress", "job.completed"]
        assert await log.unannounced(["job-1", "job-2"]) == ["job-2"]
        assert await redis.ttl(log.announced_key) > 0
    finally:
        await redis.delete(log.key("alice"), log.announced_key)
        await redis.aclose()


async def test_many_lost_terminal_events_are_read_a_page_of_rows_at_a_time(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five lost completions of two owners, rows read two at a time: each published once,
    with its own row (a worker killed with a full batch leaves many at once)."""
    monkeypatch.setattr(announce, "ROWS_PAGE", 2)
    async with api(backend.settings()) as (_client, state):
        store = JobStore(state.db)
        lost = []
        for n in range(5):
            owner = ("alice", "bob")[n % 2]
            record = await state.jobs.submit(owner, JobType.LESSON_GENERATION, {"n": n})
            assert await store.start(record.id, owner_id=owner) is not None
            assert await store.complete(record.id, {"n": n}, owner_id=owner) is not None
            lost.append((owner, str(record.id), n))
        async with state.db.transaction(None) as conn:  # settled: older than SETTLE_S
            await conn.execute(
                update(jobs).values(updated_at=utcnow() - timedelta(seconds=SETTLE_S + 1))
            )
        assert await Announcer(store, state.events).run_once() == 5
        await state.events.drain()
        for owner in ("alice", "bob"):
            events = await state.events.read(owner, after="0", block_ms=None)
            got = sorted(
                (e.data["job"]["id"], e.data["job"]["result_data"]["n"])
                for e in events
                if e.type == "job.completed"
            )
            assert got == sorted((i, n) for o, i, n in lost if o == owner)
        assert await Announcer(store, state.events).run_once() == 0
