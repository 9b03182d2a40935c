"""The worker's batched writer on PostgreSQL: one kept autocommit connection, and the
common flushes (one kind of write) as one fixed statement over arrays on the driver."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ultudy.db.engine import make_system_writer_engine
from ultudy.jobs.planning import Op, Step, claim, plan
from ultudy.jobs.record import JobRecord, row_values
from ultudy.jobs.statements import PG_BATCH_SQL, PG_JSON_COLUMNS
from ultudy.jobs.store import JobStore
from ultudy.jobs.writer.batched import BatchedWriter

# A flush is a few ms; one that takes this long is on a connection to a server that
# stopped answering: it is dropped and its writers get the error, nobody waits forever.
FLUSH_TIMEOUT_S = 15.0


class PostgresWriter(BatchedWriter):
    # An awaited write waits 0.5 ms for company: writes queue up while a flush is on the
    # wire anyway.
    URGENT_LINGER_S = 0.0005

    def __init__(self, store: JobStore, **lingers: Any) -> None:
        super().__init__(store, **lingers)
        self._engine = make_system_writer_engine(store.db.system_url)
        # The engine's one connection and its asyncpg driver connection, kept checked out
        # between flushes (a checkout and return cost more CPU than a small flush).
        self._link: tuple[AsyncConnection, Any] | None = None

    async def _apply(self, kept: list[tuple[int, Op]], results: list[Any]) -> None:
        kinds = {op.kind for _, op in kept}
        if len(kinds) == 1 and (kind := kinds.pop()) in PG_BATCH_SQL:
            async with self._connection() as (_, driver):
                await _run_batch(driver, kind, kept, results)
            return
        steps = plan(kept)
        async with self._connection() as (conn, driver):
            await _run_steps(conn, driver, steps, results)

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[tuple[AsyncConnection, Any]]:
        """The kept connection and its driver connection. One the server closed while it
        was kept (a restart) is replaced before use; a flush that fails or takes too long
        drops it (whatever it was in the middle of is rolled back) and the next reconnects."""
        if self._link is not None and self._link[1].is_closed():
            await self._drop_link()
        if self._link is None:
            conn = await self._engine.connect()
            try:
                driver = (await conn.get_raw_connection()).driver_connection
            except BaseException:
                await conn.close()
                raise
            self._link = (conn, driver)
        try:
            async with asyncio.timeout(FLUSH_TIMEOUT_S):
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

    async def _release(self) -> None:
        if self._link is not None:
            conn, self._link = self._link[0], None
            with contextlib.suppress(Exception):  # a dead link is closed as it is
                await conn.close()
        await self._engine.dispose()


async def _run_batch(
    driver: Any, kind: str, kept: list[tuple[int, Op]], results: list[Any]
) -> None:
    """One kind of batch write (the common flush), as one statement on the driver."""
    ops = [op for _, op in kept]
    returned = await driver.fetch(PG_BATCH_SQL[kind], *_batch_args(kind, ops))
    full = kind != "start"
    by_key = {(r["id"], r["owner_id"]): JobRecord(**dict(r)) if full else r for r in returned}
    for (n, _), value in zip(kept, claim(by_key, [op.key for op in ops]), strict=True):
        results[n] = value


def _batch_args(kind: str, ops: list[Op]) -> list[Any]:
    """The statement's arrays: for a create one per column; for a start ids, owners,
    started; for an end ids, owners, results, finished (and started for a run)."""
    if kind == "create":
        rows = [row_values(op.payload) for op in ops]
        return [[_pg_value(name, row[name]) for row in rows] for name in rows[0]]
    args: list[Any] = [[op.job_id for op in ops], [op.owner_id for op in ops]]
    if kind == "start":
        return [*args, [op.payload for op in ops]]
    args += [[json.dumps(op.payload[0]) for op in ops], [op.payload[1] for op in ops]]
    return [*args, [op.payload[2] for op in ops]] if kind == "run" else args


async def _run_steps(
    conn: AsyncConnection, driver: Any, steps: list[Step], results: list[Any]
) -> None:
    """Several statements: all or nothing. The connection autocommits (SQLAlchemy sends
    no BEGIN), so the transaction is opened and closed on the driver around them."""
    many = len(steps) > 1
    if many:
        await driver.execute("BEGIN")
    for step in steps:
        step.place(results, await conn.execute(step.statement, step.params))
    if many:
        await driver.execute("COMMIT")


def _pg_value(column: str, value: Any) -> Any:
    return json.dumps(value) if column in PG_JSON_COLUMNS and value is not None else value
