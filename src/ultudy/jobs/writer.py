"""How a runner writes its job rows: one transaction per change (the API's inline runs),
or group-committed (the worker), where the changes of all concurrent jobs of the process
share one transaction, applied in submission order."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ultudy.db.engine import (
    SQLITE_BUSY_TIMEOUT_MS,
    make_sync_sqlite_engine,
    make_system_writer_engine,
)
from ultudy.db.models import jobs
from ultudy.db.outage import DatabaseUnavailableError, is_outage
from ultudy.db.types import utcnow
from ultudy.jobs.batching import GroupCommit
from ultudy.jobs.states import JobStatus
from ultudy.jobs.store import (
    PG_BATCH_SQL,
    PG_JSON_COLUMNS,
    JobRecord,
    JobStore,
    _record,
    claim_rows,
    complete_many_statement,
    progress_statement,
    row_values,
    start_many_statement,
    transition_statement,
)

logger = logging.getLogger(__name__)

# How long a worker's row write may wait for others to share its round trip (tuned with
# bench.job_system): nobody waits for a start, progress or completion (written behind),
# so they wait 5 ms for company: a short job's start and end become one write, and the
# writes of many jobs one flush. A write someone awaits (a failure, a retry: it holds its
# job's queue slot) waits less: 0.5 ms on PostgreSQL, where such writes queue up while a
# flush is on the wire anyway, 2 ms on SQLite, whose flush runs inline (nothing queues up
# meanwhile).
WORKER_LINGER_S = 0.005
PG_URGENT_LINGER_S = 0.0005
SQLITE_URGENT_LINGER_S = 0.002
# A completion written behind (its job's queue slot is free already) that fails is tried
# again after these pauses; the result is only in memory. After the last, the reconciler
# sees the job completed in the broker but not in its row, and runs it again.
BEHIND_RETRY_S = (0.2, 1.0, 3.0)
# how long an inline SQLite flush may block the loop waiting for another writer
INLINE_BUSY_TIMEOUT_MS = 50
# A PostgreSQL flush is a few ms; one that takes this long is on a connection to a server
# that stopped answering: it is dropped and its writers get the error, nobody waits forever.
PG_FLUSH_TIMEOUT_S = 15.0
# kind, job id, owner, payload. A start's payload is when it started, a completion's its
# result and when it finished, a run's (a start and completion fused) result, finished,
# started: a row keeps when each happened, not when the flush that carried it went.
Op = tuple[str, uuid.UUID, str, Any]
# a statement, its parameters (a list: executemany), the indexes of the ops it covers, and
# how to turn its rows into one result per op
Step = tuple[Any, Any, list[int], Callable[[list[Any]], list[Any]]]


class DirectWriter:
    def __init__(self, store: JobStore) -> None:
        self.store = store

    def start(self, job_id: uuid.UUID, owner_id: str) -> Awaitable[Any]:
        """Resolves to something (the row) when the job may run, None when it may not."""
        return asyncio.ensure_future(self.store.start(job_id, owner_id=owner_id))

    async def complete(
        self, job_id: uuid.UUID, owner_id: str, result: dict[str, Any]
    ) -> JobRecord | None:
        return await self.store.complete(job_id, result, owner_id=owner_id)

    async def transition(
        self, job_id: uuid.UUID, owner_id: str, target: JobStatus, values: dict[str, Any]
    ) -> JobRecord | None:
        return await self.store.transition(job_id, target, owner_id=owner_id, **values)

    async def progress(self, job_id: uuid.UUID, owner_id: str, pct: int, msg: str | None) -> None:
        await self.store.set_progress(job_id, pct, msg, owner_id=owner_id)

    async def create(self, record: JobRecord) -> None:
        async with self.store.db.transaction(record.owner_id) as conn:
            await conn.execute(insert(jobs), [row_values(record)])

    async def close(self) -> None:
        """Release what the writer holds (nothing here)."""


def _fuse(ops: list[Op]) -> tuple[list[tuple[int, Op]], dict[int, int]]:
    """A job whose start and completion are both in this flush, with at most progress
    writes between them, becomes one `run` write (the completion's progress supersedes
    theirs). Returns the (index, op) to apply and start index -> run index."""
    by_job: dict[tuple[uuid.UUID, str], list[int]] = defaultdict(list)
    for n, (_, job_id, owner_id, _) in enumerate(ops):
        by_job[(job_id, owner_id)].append(n)
    alias: dict[int, int] = {}
    superseded: set[int] = set()
    for index in by_job.values():
        kinds = [ops[n][0] for n in index]
        if (len(index) >= 2 and kinds[0] == "start" and kinds[-1] == "complete"
                and all(kind == "progress" for kind in kinds[1:-1])):  # fmt: skip
            alias[index[0]] = index[-1]
            superseded.update(index[1:-1])
    started = {run: ops[start][3] for start, run in alias.items()}
    kept = [(n, ("run", op[1], op[2], (*op[3], started[n])) if n in started else op)
            for n, op in enumerate(ops) if n not in alias and n not in superseded]  # fmt: skip
    return kept, alias


def _plan(kept: list[tuple[int, Op]]) -> list[Step]:
    """Consecutive ops of one kind (create, start, complete, run) become one statement."""
    steps: list[Step] = []
    for kind, run in itertools.groupby(kept, key=lambda item: item[1][0]):
        batch = list(run)
        index = [n for n, _ in batch]
        keys = [(i, o) for _, (_, i, o, _) in batch]
        if kind == "create":
            rows = [row_values(record) for _, (_, _, _, record) in batch]
            steps.append((insert(jobs), rows, index, _nones(len(rows))))
        elif kind == "start":
            starts = [(i, o, at) for _, (_, i, o, at) in batch]
            steps.append((*start_many_statement(starts), index, _claimer(keys, full=False)))
        elif kind in ("complete", "run"):
            ends = [(i, o, *times) for _, (_, i, o, times) in batch]
            statement = complete_many_statement(ends, from_start=kind == "run")
            steps.append((*statement, index, _claimer(keys, full=True)))
        else:
            steps += [_single(n, op) for n, op in batch]
    return steps


def _nones(count: int) -> Callable[[list[Any]], list[Any]]:
    return lambda _rows: [None] * count


def _claimer(keys: list[tuple[uuid.UUID, str]], *, full: bool) -> Callable[[list[Any]], list[Any]]:
    return lambda rows: claim_rows(rows, keys, full=full)


def _single(index: int, op: Op) -> Step:
    kind, job_id, owner_id, payload = op
    if kind == "progress":
        return progress_statement(job_id, *payload), {}, [index], lambda _rows: [None]
    target, values = payload
    statement = transition_statement(job_id, target, values, owner_id)
    return statement, {}, [index], lambda rows: [_record(rows[0]) if rows else None]


class BatchedWriter(DirectWriter):
    def __init__(
        self, store: JobStore, *, linger_s: float = WORKER_LINGER_S,
        urgent_linger_s: float | None = None,
    ) -> None:  # fmt: skip
        super().__init__(store)
        if urgent_linger_s is None:
            urgent_linger_s = (PG_URGENT_LINGER_S if store.db.is_postgres
                               else SQLITE_URGENT_LINGER_S)  # fmt: skip
        self._commit: GroupCommit[Op, Any] = GroupCommit(
            self._flush, name="job-writes", linger_s=linger_s, urgent_linger_s=urgent_linger_s,
            key=_job_key,
        )  # fmt: skip
        # SQLite is a library, not a server: a flush is a few hundred microseconds of work,
        # done right here on the event loop. Through a thread it costs far more: each
        # statement waits for the GIL held by the busy loop (measured: 15 ms a flush).
        self._sqlite: Engine | None = None
        self._sqlite_patient: Engine | None = None
        self._pg: AsyncEngine | None = None
        # PostgreSQL: the engine's one connection, kept checked out between flushes (a
        # checkout and return cost more CPU than a small flush's statement).
        self._link: tuple[AsyncConnection, Any] | None = None
        # completions written behind and not yet settled (written, or given up)
        self._behind: set[asyncio.Future[None]] = set()
        # each running job's start write and its time, until its end is queued
        self._starts: dict[tuple[uuid.UUID, str], tuple[asyncio.Future[Any], datetime]] = {}
        if store.db.is_postgres:
            self._pg = make_system_writer_engine(store.db.system_url)
        else:
            self._sqlite = make_sync_sqlite_engine(
                store.db.url, busy_timeout_ms=INLINE_BUSY_TIMEOUT_MS
            )
            self._sqlite_patient = make_sync_sqlite_engine(
                store.db.url, busy_timeout_ms=SQLITE_BUSY_TIMEOUT_MS
            )

    def start(self, job_id: uuid.UUID, owner_id: str) -> Awaitable[Any]:
        """Queued, not awaited: the processor starts at once; the row follows a moment later.
        If that write fails, so does the job's final write (same or later flush): retried."""
        at = utcnow()
        future = self._commit.submit_nowait(("start", job_id, owner_id, at))
        future.add_done_callback(_log_failure)
        self._starts[(job_id, owner_id)] = (future, at)
        return future

    async def complete(
        self, job_id: uuid.UUID, owner_id: str, result: dict[str, Any]
    ) -> JobRecord | None:
        self._starts.pop((job_id, owner_id), None)
        op: Op = ("complete", job_id, owner_id, (result, utcnow()))
        record: JobRecord | None = await self._commit.submit(op)
        return record

    async def transition(
        self, job_id: uuid.UUID, owner_id: str, target: JobStatus, values: dict[str, Any]
    ) -> JobRecord | None:
        self._starts.pop((job_id, owner_id), None)
        op: Op = ("transition", job_id, owner_id, (target, values))
        record: JobRecord | None = await self._commit.submit(op)
        return record

    async def create(self, record: JobRecord) -> None:
        await self._commit.submit(("create", record.id, record.owner_id, record))

    def complete_behind(
        self, job_id: uuid.UUID, owner_id: str, result: dict[str, Any],
        written: Callable[[JobRecord | None], None],
    ) -> None:  # fmt: skip
        """Queue the completion without waiting for it: it lingers like a start, and the
        job's queue slot is free at once. `written` gets the completed row (None if the
        row was not `processing` any more: cancelled meanwhile) once it is written."""
        settled: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._behind.add(settled)
        settled.add_done_callback(self._behind.discard)
        start = self._starts.pop((job_id, owner_id), None)
        op: Op = ("complete", job_id, owner_id, (result, utcnow()))
        self._write_behind(op, start, written, settled, 0)

    def _write_behind(
        self, op: Op, start: tuple[asyncio.Future[Any], datetime] | None,
        written: Callable[[JobRecord | None], None], settled: asyncio.Future[None],
        failures: int,
    ) -> None:  # fmt: skip
        def done(future: asyncio.Future[Any]) -> None:
            # If the job's start write failed (with this completion, or alone before it),
            # the row is not `processing`: the completion must carry the start, as a run.
            unstarted = start is not None and _failed(start[0])
            error = None if future.cancelled() else future.exception()
            final = future.cancelled() or (error is None and (
                future.result() is not None or op[0] == "run" or not unstarted))  # fmt: skip
            if final:
                try:
                    if not future.cancelled():
                        written(future.result())
                finally:
                    settled.set_result(None)
            elif failures < len(BEHIND_RETRY_S):
                pause = BEHIND_RETRY_S[failures]
                logger.warning("job %s: its completion was not written (%s); trying again "
                               "in %g s", op[1], error or "its start was not", pause)  # fmt: skip
                again = op
                if start is not None and unstarted:
                    result, finished = op[3][:2]
                    again = ("run", op[1], op[2], (result, finished, start[1]))
                loop = asyncio.get_running_loop()
                loop.call_later(pause, self._write_behind, again, start, written, settled,
                                failures + 1)  # fmt: skip
            else:
                logger.error("job %s: its completion could not be written (%s); the "
                             "reconciler will run the job again", op[1], error)  # fmt: skip
                settled.set_result(None)

        self._commit.submit_nowait(op).add_done_callback(done)

    async def progress(self, job_id: uuid.UUID, owner_id: str, pct: int, msg: str | None) -> None:
        future = self._commit.submit_nowait(("progress", job_id, owner_id, (pct, msg)))
        future.add_done_callback(_log_failure)

    async def _flush(self, ops: list[Op]) -> list[Any]:
        """Write `ops`; an outage reaches their writers as DatabaseUnavailableError."""
        try:
            return await self._write(ops)
        except Exception as exc:
            if is_outage(exc) and not isinstance(exc, DatabaseUnavailableError):
                raise DatabaseUnavailableError() from exc
            raise

    async def _write(self, ops: list[Op]) -> list[Any]:
        kept, alias = _fuse(ops)
        results: list[Any] = [None] * len(ops)
        kinds = {op[0] for _, op in kept}
        if self._pg is not None and len(kinds) == 1 and (kind := kinds.pop()) in PG_BATCH_SQL:
            async with self._pg_link() as (_, driver):
                await self._flush_pg_batch(driver, kind, kept, results)
            for start, run in alias.items():
                results[start] = results[run]
            return results
        steps = _plan(kept)
        if self._sqlite is not None and self._sqlite_patient is not None:
            try:
                self._flush_sync(self._sqlite, steps, results)
            except OperationalError as exc:
                if "locked" not in str(exc):
                    raise
                # Another process holds the write lock for long: wait for it off the loop.
                await asyncio.to_thread(self._flush_sync, self._sqlite_patient, steps, results)
        elif self._pg is not None:
            async with self._pg_link() as (conn, driver):
                await self._flush_pg(conn, driver, steps, results)
        for start, run in alias.items():
            results[start] = results[run]
        return results

    @asynccontextmanager
    async def _pg_link(self) -> AsyncIterator[tuple[AsyncConnection, Any]]:
        """The writer's connection and its asyncpg driver connection. One the server closed
        while it was kept (a restart) is replaced before use; a flush that fails or takes
        too long drops it (whatever it was in the middle of is rolled back) and the next
        reconnects."""
        assert self._pg is not None
        if self._link is not None and self._link[1].is_closed():
            await self._drop_link()
        if self._link is None:
            conn = await self._pg.connect()
            try:
                driver = (await conn.get_raw_connection()).driver_connection
            except BaseException:
                await conn.close()
                raise
            self._link = (conn, driver)
        try:
            async with asyncio.timeout(PG_FLUSH_TIMEOUT_S):
                yield self._link
        except BaseException:
            await self._drop_link()
            raise

    async def _drop_link(self) -> None:
        """Give the kept connection back as dead: the pool's one slot must come free, or
        the next flush would wait for it in vain."""
        if self._link is None:
            return
        conn, self._link = self._link[0], None
        with contextlib.suppress(Exception):
            await conn.invalidate()
        with contextlib.suppress(Exception):
            await conn.close()

    @staticmethod
    async def _flush_pg_batch(
        driver: Any, kind: str, kept: list[tuple[int, Op]], results: list[Any]
    ) -> None:
        """One kind of batch write (the common flush), as one statement on the driver."""
        keys = [(job_id, owner_id) for _, (_, job_id, owner_id, _) in kept]
        payloads = [payload for _, (_, _, _, payload) in kept]
        args: list[Any]
        if kind == "create":  # one array per column
            rows = [row_values(record) for record in payloads]
            args = [[_pg_value(name, row[name]) for row in rows] for name in rows[0]]
        elif kind == "start":  # ids, owners, started
            args = [[i for i, _ in keys], [o for _, o in keys], payloads]
        else:  # ids, owners, results, finished (, started for a run)
            args = [[i for i, _ in keys], [o for _, o in keys],
                    [json.dumps(p[0]) for p in payloads], [p[1] for p in payloads]]  # fmt: skip
            if kind == "run":
                args.append([p[2] for p in payloads])
        returned = await driver.fetch(PG_BATCH_SQL[kind], *args)
        full = kind != "start"
        by_key = {(r["id"], r["owner_id"]): JobRecord(**dict(r)) if full else r for r in returned}
        _place(results, [n for n, _ in kept], [by_key.pop(key, None) for key in keys])

    @staticmethod
    async def _flush_pg(
        conn: AsyncConnection, driver: Any, steps: list[Step], results: list[Any]
    ) -> None:
        """Several statements: all or nothing. The connection autocommits (SQLAlchemy sends
        no BEGIN), so the transaction is opened and closed on the driver around them."""
        many = len(steps) > 1
        if many:
            await driver.execute("BEGIN")
        for statement, params, index, unpack in steps:
            _place(results, index, unpack(_rows(await conn.execute(statement, params))))
        if many:
            await driver.execute("COMMIT")

    @staticmethod
    def _flush_sync(engine: Engine, steps: list[Step], results: list[Any]) -> None:
        conn: Connection
        with engine.begin() as conn:
            for statement, params, index, unpack in steps:
                _place(results, index, unpack(_rows(conn.execute(statement, params))))

    async def drain(self) -> None:
        """Wait until every queued write is written (completions behind: or given up)."""
        while self._behind:
            await asyncio.wait(set(self._behind))
        await self._commit.drain()

    async def close(self) -> None:
        await self.drain()
        for engine in (self._sqlite, self._sqlite_patient):
            if engine is not None:
                engine.dispose()
        if self._pg is not None:
            if self._link is not None:
                conn, self._link = self._link[0], None
                with contextlib.suppress(Exception):  # a dead link is closed as it is
                    await conn.close()
            await self._pg.dispose()


def _job_key(op: Op) -> tuple[uuid.UUID, str]:
    return op[1], op[2]


def _pg_value(column: str, value: Any) -> Any:
    return json.dumps(value) if column in PG_JSON_COLUMNS and value is not None else value


def _place(results: list[Any], index: list[int], values: list[Any]) -> None:
    for n, value in zip(index, values, strict=True):
        results[n] = value


def _rows(result: Any) -> list[Any]:
    return list(result) if result.returns_rows else []


def _failed(future: asyncio.Future[Any]) -> bool:
    return future.done() and not future.cancelled() and future.exception() is not None


def _log_failure(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.warning("job row write failed: %s", future.exception())
