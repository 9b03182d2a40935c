"""The worker's group-committed row writes, on both databases."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert, make_url, text

from tests.support.backends import Backend
from tests.support.harness import eventually
from ultudy.db import Database
from ultudy.db.engine import make_system_writer_engine
from ultudy.db.models import jobs
from ultudy.db.outage import DatabaseUnavailableError
from ultudy.db.types import utcnow
from ultudy.jobs.planning import Op, fuse
from ultudy.jobs.record import new_job, row_values
from ultudy.jobs.statements import PG_BATCH_SQL
from ultudy.jobs.store import JobStore
from ultudy.jobs.writer import batched, batched_writer
from ultudy.jobs.writer.postgres import PostgresWriter
from ultudy.kinds import JobType


async def test_batched_starts_and_completions_apply_once_each_in_order(backend: Backend) -> None:
    db = backend.database()
    store = JobStore(db)
    writer = batched_writer(store)
    try:
        records = [
            await store.create(
                owner_id=f"o{i % 3}",
                type=JobType.LESSON_GENERATION,
                input_data={"i": i},
                max_attempts=3,
            )
            for i in range(12)
        ]
        cancelled = records[-1]
        assert await store.cancel(cancelled.id, owner_id=cancelled.owner_id) is not None
        starts = [writer.start(r.id, r.owner_id) for r in records]
        wrong_owner = writer.start(records[0].id, "intruder")
        done = await asyncio.gather(
            *[
                writer.complete(r.id, r.owner_id, {"n": n, "deep": {"x": [n]}})
                for n, r in enumerate(records)
            ]
        )
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
        await writer.close()
        await db.dispose()


async def test_a_slow_job_is_started_then_completed_in_separate_writes(backend: Backend) -> None:
    db = backend.database()
    store = JobStore(db)
    writer = batched_writer(store)
    try:
        record = await store.create(
            owner_id="a", type=JobType.MATERIAL_UPLOAD, input_data={}, max_attempts=3
        )
        assert await writer.start(record.id, "a") is not None
        running = await store.get(record.id, owner_id="a")
        assert running is not None
        assert (running.status, running.attempts) == ("processing", 1)
        await writer.progress(record.id, "a", 40, "halfway")
        done = await writer.complete(record.id, "a", {"ok": True})
        assert done is not None
        assert (done.status, done.attempts, done.progress) == ("completed", 1, 100)
    finally:
        await writer.close()
        await db.dispose()


async def test_a_completion_written_behind_frees_its_caller_and_keeps_its_times(
    backend: Backend,
) -> None:
    """The worker's completions are queued, not awaited: the caller goes on at once, the
    row is written with the next flush, `written` gets the row (None when it was
    cancelled meanwhile), and each row keeps when it started and finished, not when the
    flush that carried it went."""
    db = backend.database()
    store = JobStore(db)
    writer = batched_writer(store, linger_s=0.2)  # one flush, long after the submits
    records = [
        await store.create(
            owner_id="a", type=JobType.LESSON_GENERATION, input_data={}, max_attempts=3
        )
        for _ in range(3)
    ]
    first, second, cancelled = records
    written: dict[uuid.UUID, Any] = {}
    try:
        assert await writer.start(cancelled.id, "a") is not None
        assert await store.cancel(cancelled.id, owner_id="a") is not None
        before = utcnow()
        starts = [writer.start(first.id, "a")]
        await asyncio.sleep(0.005)
        starts.append(writer.start(second.id, "a"))
        for n, record in enumerate(records):
            writer.complete_behind(
                record.id, "a", {"n": n}, lambda row, key=record.id: written.update({key: row})
            )
        submitted = utcnow()
        stored = await store.get(first.id, owner_id="a")
        assert stored is not None
        assert stored.status == "pending"  # queued: nobody waited for it
        assert written == {}
        await writer.drain()
        assert all(await asyncio.gather(*starts))
        assert written[cancelled.id] is None
        rows = [written[first.id], written[second.id]]
        assert [(r.status, r.result_data, r.attempts) for r in rows] == [
            ("completed", {"n": 0}, 1),
            ("completed", {"n": 1}, 1),
        ]
        for row in rows:
            assert await store.get(row.id, owner_id="a") == row
            assert before <= row.started_at <= row.completed_at <= submitted
        assert rows[0].started_at < rows[1].started_at  # started 5 ms apart, one flush
        final = await store.get(cancelled.id, owner_id="a")
        assert final is not None
        assert (final.status, final.result_data) == ("cancelled", None)
    finally:
        await writer.close()
        await db.dispose()


async def explain(db: Database, statement: str, params: Any) -> str:
    if db.is_postgres:
        async with db.transaction(None) as conn:
            rows = await conn.exec_driver_sql("EXPLAIN " + statement, tuple(params))
            return "\n".join(str(row[0]) for row in rows)
    path = make_url(db.url).database
    assert path is not None
    with sqlite3.connect(path) as conn:
        steps = conn.execute("EXPLAIN QUERY PLAN " + statement, tuple(params)).fetchall()
        return "\n".join(str(step[-1]) for step in steps)


async def test_batched_writes_find_their_rows_by_primary_key_behind_a_backlog(
    backend: Backend,
) -> None:
    """A queue backlog is many pending rows; a worker's batch write must look its rows up
    by primary key, not walk every row of a status (SQLite's planner did, for the
    (id, owner) row-value IN alone)."""
    db = backend.database()
    store = JobStore(db)
    writer = batched_writer(store)
    backlog = [
        new_job(owner_id="o", type=JobType.LESSON_GENERATION, input_data={}, max_attempts=3)
        for _ in range(3000)
    ]
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE JOBS"):
            seen.append((statement, params))

    event.listen(Engine, "before_cursor_execute", capture)
    try:
        async with db.transaction(None) as conn:
            await conn.execute(insert(jobs), [row_values(r) for r in backlog])
            if db.is_postgres:
                await conn.execute(text("ANALYZE jobs"))
        first, second = backlog[:2]
        starts = [writer.start(r.id, r.owner_id) for r in (first, second)]
        assert all(await asyncio.gather(*starts))
        done = await asyncio.gather(
            writer.complete(first.id, "o", {"n": 1}), writer.complete(second.id, "o", {"n": 2})
        )
        assert all(done)
        fused = writer.start(backlog[2].id, "o")
        assert await writer.complete(backlog[2].id, "o", {"n": 3}) is not None
        assert await fused is not None
    finally:
        event.remove(Engine, "before_cursor_execute", capture)
        await writer.close()
    try:
        if db.is_postgres:  # the writer runs these on the driver, unseen by SQLAlchemy
            keys = [(r.id, r.owner_id) for r in backlog[3:5]]
            args = ([i for i, _ in keys], [o for _, o in keys])
            results = [json.dumps({"n": n}) for n in range(2)]
            times = [utcnow()] * 2
            seen = [
                (PG_BATCH_SQL["start"], (*args, times)),
                (PG_BATCH_SQL["complete"], (*args, results, times)),
                (PG_BATCH_SQL["run"], (*args, results, times, times)),
            ]
        assert len(seen) == 3  # start, complete, start+complete
        for n, (statement, params) in enumerate(seen):
            plan = await explain(db, statement, params)
            if db.is_postgres:
                # Cost-based: the start (3000 pending rows) goes by key; a completion may
                # use the status index (few processing rows), never a full scan.
                assert "Seq Scan on jobs" not in plan, plan
                assert n > 0 or "jobs_pkey" in plan, plan
            else:
                assert "USING INDEX sqlite_autoindex_jobs_1 (id=?)" in plan, plan
    finally:
        await db.dispose()


async def test_progress_between_a_start_and_an_end_in_one_flush_is_one_write(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A short job's start, progress and end become one `run` write; the end is urgent and
    takes only its own job's writes along, another job's start and progress linger on."""
    db = backend.database()
    store = JobStore(db)
    writer = batched_writer(store, linger_s=0.5, urgent_linger_s=0)  # to see who lingers
    applied: list[list[tuple[str, uuid.UUID]]] = []

    def spy(ops: list[Op]) -> Any:
        kept, alias = fuse(ops)
        applied.append([(op.kind, op.job_id) for _, op in kept])
        return kept, alias

    monkeypatch.setattr(batched, "fuse", spy)
    record = await store.create(
        owner_id="a", type=JobType.CHECK_IN_EVALUATION, input_data={}, max_attempts=3
    )
    other = await store.create(
        owner_id="a", type=JobType.CHECK_IN_EVALUATION, input_data={}, max_attempts=3
    )
    try:
        started = writer.start(record.id, "a")
        await writer.progress(record.id, "a", 30, "a third")
        await writer.progress(record.id, "a", 60, "two thirds")
        other_started = writer.start(other.id, "a")
        await writer.progress(other.id, "a", 50, "half")  # no end for it: written later
        done = await writer.complete(record.id, "a", {"ok": True})
        assert done is not None
        assert (done.status, done.progress, done.progress_message) == ("completed", 100, "Done")
        assert await started is not None
        assert applied == [[("run", record.id)]]
        assert not other_started.done()
        assert await other_started is not None
        assert applied[1:] == [[("start", other.id), ("progress", other.id)]]
    finally:
        await writer.close()
    try:
        running = await store.get(other.id, owner_id="a")
        assert running is not None
        assert (running.status, running.progress, running.progress_message) == (
            "processing",
            50,
            "half",
        )
    finally:
        await db.dispose()


async def test_batched_creates_store_every_field_as_given(backend: Backend) -> None:
    db = backend.database()
    store = JobStore(db)
    writer = batched_writer(store, linger_s=0.01)
    when = utcnow().replace(microsecond=123456)
    records = [
        new_job(
            owner_id="a",
            type=JobType.LESSON_GENERATION,
            max_attempts=3,
            input_data={"nested": {"list": [1, "two", None]}, "é": "ü"},
        ),
        new_job(
            owner_id="b",
            type=JobType.MATERIAL_UPLOAD,
            input_data={},
            max_attempts=1,
            priority=5,
            run_at=when,
        ),
    ]
    try:
        await asyncio.gather(*[writer.create(r) for r in records])
        for record in records:
            assert await store.get(record.id, owner_id=record.owner_id) == record
    finally:
        await writer.close()
        await db.dispose()


# However the driver reports a connection the server ended, the writer's callers see this.
LOST = DatabaseUnavailableError


async def drop_idle_connections(db: Database) -> None:
    """PostgreSQL ends the other idle sessions of the database: the writer's among them."""
    async with db.transaction(None) as conn:
        pids = (
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND state = 'idle'"
                )
            )
        ).all()
    assert pids, "the writer's connection should have been there to drop"


@asynccontextmanager
async def writes_lost_in_flight(db: Database) -> AsyncIterator[None]:
    """The writes sent in the block wait on a lock of the jobs table; PostgreSQL then ends
    the session they wait in: the flush fails in flight (and the lock goes)."""
    waiting = text(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock'"
    )

    async def waiter() -> Any:
        async with db.transaction(None) as conn:
            return (await conn.execute(waiting)).scalar()

    async with db.transaction(None) as locker:
        await locker.execute(text("LOCK TABLE jobs IN EXCLUSIVE MODE"))
        yield
        pid = await eventually(waiter, lambda found: found is not None)
        await locker.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


@pytest.mark.only_backends("postgres")
async def test_a_lost_postgres_connection_fails_one_flush_and_the_next_reconnects(
    backend: Backend,
) -> None:
    """The writer keeps its connection between flushes. One the server ended while it was
    kept (a restart) is replaced before use; when it ends during a flush, that flush fails
    (its jobs retry) and the next one works on a new connection."""
    db = backend.database()
    store = JobStore(db)
    writer = PostgresWriter(store, linger_s=0)
    make = [
        new_job(owner_id="a", type=JobType.LESSON_GENERATION, input_data={}, max_attempts=3)
        for _ in range(4)
    ]
    try:
        await writer.create(make[0])
        await drop_idle_connections(db)
        link = writer._link
        assert link is not None
        await eventually(lambda: asyncio.sleep(0, link[1].is_closed()), bool)
        await writer.create(make[1])
        async with writes_lost_in_flight(db):
            lost = asyncio.ensure_future(writer.create(make[2]))
        with pytest.raises(LOST):
            await lost
        await writer.create(make[3])
        stored = [await store.get(r.id, owner_id="a") for r in make]
        assert [s is not None for s in stored] == [True, True, False, True]
    finally:
        await writer.close()
        await db.dispose()


@pytest.mark.only_backends("postgres")
async def test_a_completion_written_behind_is_tried_again_when_its_write_fails(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A completion written behind has no caller left to retry the job: the writer tries
    the write again (the result is only in memory) and closing waits for it. When the
    job's start write was the one lost, the retry writes the start along with it."""
    monkeypatch.setattr(batched, "BEHIND_RETRY_S", (0.05, 0.05, 0.05))
    db = backend.database()
    store = JobStore(db)
    writer = batched_writer(store, linger_s=0)
    record = await store.create(
        owner_id="a", type=JobType.LESSON_GENERATION, input_data={}, max_attempts=3
    )
    written: list[Any] = []
    try:
        assert await writer.start(record.id, "a") is not None
        async with writes_lost_in_flight(db):
            writer.complete_behind(record.id, "a", {"ok": True}, written.append)
        await writer.drain()
        assert [(row.status, row.result_data) for row in written] == [("completed", {"ok": True})]
        stored = await store.get(record.id, owner_id="a")
        assert stored is not None
        assert stored.status == "completed"

        other = await store.create(
            owner_id="a", type=JobType.LESSON_GENERATION, input_data={}, max_attempts=3
        )
        async with writes_lost_in_flight(db):
            started = writer.start(other.id, "a")
        with pytest.raises(LOST):
            await started
        writer.complete_behind(other.id, "a", {"ok": 2}, written.append)
        await writer.drain()
        done = written[-1]
        assert (done.id, done.status, done.result_data) == (other.id, "completed", {"ok": 2})
        assert done.attempts == 1
        assert done.started_at is not None
        assert done.completed_at is not None
        assert done.started_at < done.completed_at
    finally:
        await writer.close()
        await db.dispose()


def sql_literal(value: Any) -> str:
    """A test value as SQL text (EXECUTE takes no bind parameters)."""
    if isinstance(value, list):
        return "'{" + ",".join('"' + str(v).replace('"', '\\"') + '"' for v in value) + "}'"
    return "'" + str(value).replace("'", "''") + "'"


async def churn(db: Database, rows: int) -> None:
    """What a table that has lived a while looks like: rows came and went (retention
    deletes them) and left their primary key's pages behind, so that index costs the
    planner more than a young owner index."""
    async with db.system_engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(
            text(
                "INSERT INTO jobs (id, owner_id, type, status, input_data, created_at,"
                " updated_at) SELECT gen_random_uuid(), 'gone', 'lesson_generation',"
                f" 'completed', '{{}}'::json, now(), now() FROM generate_series(1, {rows})"
                # the newest row stays, so the emptied pages before it stay too
                " UNION ALL SELECT gen_random_uuid(), 'kept', 'lesson_generation',"
                " 'completed', '{}'::json, now(), now()"
            )
        )
        await conn.execute(text("DELETE FROM jobs WHERE owner_id = 'gone'"))
        await conn.execute(text("VACUUM jobs"))


@pytest.mark.only_backends("postgres")
@pytest.mark.parametrize("statistics", ["an empty table", "many owners with a job each"])
async def test_batch_writes_go_by_primary_key_in_a_generic_plan(
    backend: Backend, statistics: str
) -> None:
    """The writer's statements are prepared: after a few runs PostgreSQL may reuse one
    generic plan, made from whatever the statistics said. Whatever they said, it must look
    rows up by key: made on an empty table, not walk a status's rows (the pending
    backlog) on every flush; made when every owner had a job or two (a young
    deployment), not walk an owner's rows (one heavy user's thousands) for every job of
    a flush, which took the bench's 5,000-job rounds from 0.4 to 2 ms of PostgreSQL CPU
    per job, growing with that owner's rows."""
    db = backend.database()
    try:
        if statistics == "many owners with a job each":
            await churn(db, 30_000)
        async with db.transaction(None) as conn:
            if statistics == "many owners with a job each":
                young = [
                    new_job(
                        owner_id=f"u{n}",
                        type=JobType.LESSON_GENERATION,
                        input_data={},
                        max_attempts=3,
                    )
                    for n in range(30)
                ]
                await conn.execute(insert(jobs), [row_values(r) for r in young])
            await conn.execute(text("ANALYZE jobs"))
            backlog = [
                new_job(owner_id="o", type=JobType.LESSON_GENERATION, input_data={}, max_attempts=3)
                for _ in range(2000)
            ]
            await conn.execute(insert(jobs), [row_values(r) for r in backlog])
        ids, owners = [r.id for r in backlog[:4]], ["o"] * 4
        results = [json.dumps({"n": n}) for n in range(4)]
        types = {
            "start": "uuid[], text[], timestamptz[]",
            "complete": "uuid[], text[], text[], timestamptz[]",
            "run": "uuid[], text[], text[], timestamptz[], timestamptz[]",
        }
        writer = make_system_writer_engine(db.system_url)  # the writer's session settings
        times = [utcnow()] * 4
        for kind, params in (
            ("start", (ids, owners, times)),
            ("complete", (ids, owners, results, times)),
            ("run", (ids, owners, results, times, times)),
        ):
            async with writer.connect() as conn:
                await conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
                await conn.exec_driver_sql(f"PREPARE w({types[kind]}) AS {PG_BATCH_SQL[kind]}")
                values = ", ".join(sql_literal(value) for value in params)
                rows = await conn.exec_driver_sql(f"EXPLAIN EXECUTE w({values})")
                plan = "\n".join(str(row[0]) for row in rows)
                await conn.exec_driver_sql("DEALLOCATE w")
                await conn.exec_driver_sql("RESET plan_cache_mode")
            assert "$1" in plan, plan  # a generic plan: parameters, not values
            assert "jobs_pkey" in plan, (kind, plan)
            assert "ix_jobs_status_updated" not in plan, plan
            assert "ix_jobs_owner" not in plan, plan
            assert "Seq Scan on jobs" not in plan, plan
        await writer.dispose()
    finally:
        await db.dispose()
