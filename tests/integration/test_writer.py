"""The worker's group-committed row writes, on both databases."""

from __future__ import annotations

import asyncio

from tests.support.backends import Backend
from ultudy.db import Database
from ultudy.jobs.states import JobType
from ultudy.jobs.store import JobStore
from ultudy.jobs.writer import BatchedWriter


async def test_batched_starts_and_completions_apply_once_each_in_order(backend: Backend) -> None:
    db = Database(backend.database_url)
    store = JobStore(db)
    writer = BatchedWriter(store)
    try:
        records = [await store.create(owner_id=f"o{i % 3}", type=JobType.LESSON_GENERATION,
                                      input_data={"i": i}, max_attempts=3) for i in range(12)]  # fmt: skip
        cancelled = records[-1]
        assert await store.cancel(cancelled.id, owner_id=cancelled.owner_id) is not None
        starts = [writer.start(r.id, r.owner_id) for r in records]
        wrong_owner = writer.start(records[0].id, "intruder")
        done = await asyncio.gather(
            *[writer.complete(r.id, r.owner_id, {"n": n, "deep": {"x": [n]}})
              for n, r in enumerate(records)]
        )  # fmt: skip
        assert [await s is not None for s in starts] == [True] * 11 + [False]
        assert await wrong_owner is None
        assert [d.result_data if d else None for d in done] == [
            {"n": n, "deep": {"x": [n]}} for n in range(11)
        ] + [None]
        assert {d.attempts for d in done if d} == {1}
        assert await writer.complete(records[0].id, records[0].owner_id, {"again": 1}) is None
        stored = await store.get(records[3].id, owner_id=None)
        assert stored is not None
        assert (stored.status, stored.result_data) == ("completed", {"n": 3, "deep": {"x": [3]}})
        final = await store.get(cancelled.id, owner_id=None)
        assert final is not None
        assert final.status == "cancelled"
    finally:
        writer.close()
        await db.dispose()


async def test_a_slow_job_is_started_then_completed_in_separate_writes(backend: Backend) -> None:
    db = Database(backend.database_url)
    store = JobStore(db)
    writer = BatchedWriter(store)
    try:
        record = await store.create(owner_id="a", type=JobType.MATERIAL_UPLOAD, input_data={},
                                    max_attempts=3)  # fmt: skip
        assert await writer.start(record.id, "a") is not None
        running = await store.get(record.id, owner_id="a")
        assert running is not None
        assert (running.status, running.attempts) == ("processing", 1)
        await writer.progress(record.id, "a", 40, "halfway")
        done = await writer.complete(record.id, "a", {"ok": True})
        assert done is not None
        assert (done.status, done.attempts, done.progress) == ("completed", 1, 100)
    finally:
        writer.close()
        await db.dispose()
