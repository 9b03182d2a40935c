"""The worker's batched writer on SQLite: each flush runs inline on the event loop."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from ultudy.db.engine import SQLITE_BUSY_TIMEOUT_MS, make_sync_sqlite_engine
from ultudy.jobs.planning import Op, Step, plan
from ultudy.jobs.store import JobStore
from ultudy.jobs.writer.batched import BatchedWriter

# how long an inline flush may block the loop waiting for another writer
INLINE_BUSY_TIMEOUT_MS = 50


class SqliteWriter(BatchedWriter):
    # An awaited write waits 2 ms for company: a flush runs inline, so nothing queues up
    # while one is under way (on PostgreSQL, where writes queue up meanwhile, it is less).
    URGENT_LINGER_S = 0.002

    def __init__(self, store: JobStore, **lingers: Any) -> None:
        super().__init__(store, **lingers)
        # SQLite is a library, not a server: a flush is a few hundred microseconds of work,
        # done right here on the event loop. Through a thread it costs far more: each
        # statement waits for the GIL held by the busy loop.
        self._inline = make_sync_sqlite_engine(store.db.url, busy_timeout_ms=INLINE_BUSY_TIMEOUT_MS)
        self._patient = make_sync_sqlite_engine(
            store.db.url, busy_timeout_ms=SQLITE_BUSY_TIMEOUT_MS
        )

    async def _apply(self, kept: list[tuple[int, Op]], results: list[Any]) -> None:
        steps = plan(kept)
        try:
            _run(self._inline, steps, results)
        except OperationalError as exc:
            if "locked" not in str(exc):
                raise
            # Another process holds the write lock for long: wait for it off the loop.
            await asyncio.to_thread(_run, self._patient, steps, results)

    async def _release(self) -> None:
        self._inline.dispose()
        self._patient.dispose()


def _run(engine: Engine, steps: list[Step], results: list[Any]) -> None:
    conn: Connection
    with engine.begin() as conn:
        for step in steps:
            step.place(results, conn.execute(step.statement, step.params))
