"""How a runner writes its job rows: one transaction per change (the API's inline runs),
or group-committed (the worker), where the changes of all concurrent jobs of the process
share one transaction, applied in submission order."""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Connection, Engine, insert
from sqlalchemy.exc import OperationalError

from ultudy.db.engine import SQLITE_BUSY_TIMEOUT_MS, make_sync_sqlite_engine
from ultudy.db.models import jobs
from ultudy.jobs.batching import GroupCommit
from ultudy.jobs.states import JobStatus
from ultudy.jobs.store import (
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

WORKER_LINGER_S = 0.002
# how long an inline SQLite flush may block the loop waiting for another writer
INLINE_BUSY_TIMEOUT_MS = 50
# kind, job id, owner, payload
Op = tuple[str, uuid.UUID, str, Any]
# a statement, its parameters (a list: executemany), and how to turn its rows into one
# result per op it covers
Step = tuple[Any, Any, Callable[[list[Any]], list[Any]]]


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

    def close(self) -> None:
        """Release what the writer holds (nothing here)."""


def _plan(ops: list[Op]) -> list[Step]:
    """Consecutive starts and completions each become one statement."""
    steps: list[Step] = []
    for kind, run in itertools.groupby(ops, key=lambda op: op[0]):
        batch = list(run)
        keys = [(i, o) for _, i, o, _ in batch]
        if kind == "create":
            rows = [row_values(record) for _, _, _, record in batch]
            steps.append((insert(jobs), rows, _nones(len(rows))))
        elif kind == "start":
            steps.append((*start_many_statement(keys), _claimer(keys, full=False)))
        elif kind == "complete":
            items = [(i, o, r) for _, i, o, r in batch]
            steps.append((*complete_many_statement(items), _claimer(keys, full=True)))
        else:
            steps += [_single(op) for op in batch]
    return steps


def _nones(count: int) -> Callable[[list[Any]], list[Any]]:
    return lambda _rows: [None] * count


def _claimer(keys: list[tuple[uuid.UUID, str]], *, full: bool) -> Callable[[list[Any]], list[Any]]:
    return lambda rows: claim_rows(rows, keys, full=full)


def _single(op: Op) -> Step:
    kind, job_id, owner_id, payload = op
    if kind == "progress":
        return progress_statement(job_id, *payload), {}, lambda _rows: [None]
    target, values = payload
    statement = transition_statement(job_id, target, values, owner_id)
    return statement, {}, lambda rows: [_record(rows[0]) if rows else None]


class BatchedWriter(DirectWriter):
    def __init__(self, store: JobStore, *, linger_s: float = WORKER_LINGER_S) -> None:
        super().__init__(store)
        self._commit: GroupCommit[Op, Any] = GroupCommit(
            self._flush, name="job-writes", linger_s=linger_s
        )
        # SQLite is a library, not a server: a flush is a few hundred microseconds of work,
        # done right here on the event loop. Through a thread it costs far more: each
        # statement waits for the GIL held by the busy loop (measured: 15 ms a flush).
        self._sqlite: Engine | None = None
        self._sqlite_patient: Engine | None = None
        if not store.db.is_postgres:
            self._sqlite = make_sync_sqlite_engine(
                store.db.url, busy_timeout_ms=INLINE_BUSY_TIMEOUT_MS
            )
            self._sqlite_patient = make_sync_sqlite_engine(
                store.db.url, busy_timeout_ms=SQLITE_BUSY_TIMEOUT_MS
            )

    def start(self, job_id: uuid.UUID, owner_id: str) -> Awaitable[Any]:
        """Queued, not awaited: the processor starts at once; the row follows a moment later.
        If that write fails, so does the job's final write (same or later flush): retried."""
        future = self._commit.submit_nowait(("start", job_id, owner_id, None))
        future.add_done_callback(_log_failure)
        return future

    async def complete(
        self, job_id: uuid.UUID, owner_id: str, result: dict[str, Any]
    ) -> JobRecord | None:
        record: JobRecord | None = await self._commit.submit(("complete", job_id, owner_id, result))
        return record

    async def transition(
        self, job_id: uuid.UUID, owner_id: str, target: JobStatus, values: dict[str, Any]
    ) -> JobRecord | None:
        op: Op = ("transition", job_id, owner_id, (target, values))
        record: JobRecord | None = await self._commit.submit(op)
        return record

    async def create(self, record: JobRecord) -> None:
        await self._commit.submit(("create", record.id, record.owner_id, record))

    async def progress(self, job_id: uuid.UUID, owner_id: str, pct: int, msg: str | None) -> None:
        future = self._commit.submit_nowait(("progress", job_id, owner_id, (pct, msg)))
        future.add_done_callback(_log_failure)

    async def _flush(self, ops: list[Op]) -> list[Any]:
        steps = _plan(ops)
        if self._sqlite is not None and self._sqlite_patient is not None:
            try:
                return self._flush_sync(self._sqlite, steps)
            except OperationalError as exc:
                if "locked" not in str(exc):
                    raise
                # Another process holds the write lock for long: wait for it off the loop.
                return await asyncio.to_thread(self._flush_sync, self._sqlite_patient, steps)
        results: list[Any] = []
        async with self.store.db.transaction(None) as conn:
            for statement, params, unpack in steps:
                results += unpack(_rows(await conn.execute(statement, params)))
        return results

    @staticmethod
    def _flush_sync(engine: Engine, steps: list[Step]) -> list[Any]:
        results: list[Any] = []
        conn: Connection
        with engine.begin() as conn:
            for statement, params, unpack in steps:
                results += unpack(_rows(conn.execute(statement, params)))
        return results

    def close(self) -> None:
        for engine in (self._sqlite, self._sqlite_patient):
            if engine is not None:
                engine.dispose()


def _rows(result: Any) -> list[Any]:
    return list(result) if result.returns_rows else []


def _log_failure(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.warning("job row write failed: %s", future.exception())
