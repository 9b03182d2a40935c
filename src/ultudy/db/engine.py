"""Engine and owner-scoped transactions.

On PostgreSQL every owner-scoped table has a row-level security policy that shows a
login only the rows of `ultudy.owner_id`, a per-transaction setting. Cross-owner work (the
worker's writes, the reconciler, the admin views) logs in as the tables' owner, which the
policy does not bind (see `db.roles`); there is no setting that widens the app's login.
The application scopes by owner in its queries as well; the policy is the second lock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from ultudy.db.cancel import roll_back_on_cancel

SQLITE_BUSY_TIMEOUT_MS = 10000
# A request during an outage must answer (503) in a few seconds, never hang: a connect to
# a server that does not answer, or a wait for a pooled connection, gives up after these.
PG_CONNECT_TIMEOUT_S = 5.0
PG_POOL_TIMEOUT_S = 5.0
SYSTEM = None  # owner argument meaning "no owner: cross-owner system work"
SYSTEM_POOL_SIZE = 2
SYSTEM_POOL_OVERFLOW = 8


def _sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_conn.cursor()
    # WAL lets the API read while a worker writes; NORMAL sync is durable across process
    # crashes (only an OS crash can lose the last commits) and keeps commits cheap.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_sync_sqlite_engine(url: str, *, busy_timeout_ms: int) -> Engine:
    """A plain pysqlite engine on the same file (see `jobs.writer` for why)."""
    engine = create_engine(
        url.replace("sqlite+aiosqlite://", "sqlite://", 1),
        connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
        pool_reset_on_return=None,
    )

    def pragmas(dbapi_conn: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        _sqlite_pragmas(dbapi_conn, record)
        dbapi_conn.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")

    event.listen(engine, "connect", pragmas)
    return engine


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Every use is a `begin()` block that commits or rolls back, so the pool's extra
        # rollback on check-in is a wasted thread hop.
        engine = create_async_engine(
            url, connect_args={"timeout": 30}, pool_reset_on_return=None, **kwargs
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        roll_back_on_cancel(engine)
        return engine
    options: dict[str, Any] = {
        "pool_size": 10,
        "max_overflow": 20,
        "pool_pre_ping": True,
        "pool_timeout": PG_POOL_TIMEOUT_S,
        "connect_args": {"timeout": PG_CONNECT_TIMEOUT_S},
    }
    return create_async_engine(url, **{**options, **kwargs})


def make_system_writer_engine(url: str) -> AsyncEngine:
    """PostgreSQL: one connection, of the system login, for a process's group-committed row
    writes. It autocommits, so a flush that is one statement is one round trip; a flush of
    several opens a transaction."""
    engine = create_async_engine(
        url,
        pool_size=1,
        max_overflow=0,
        pool_reset_on_return=None,
        isolation_level="AUTOCOMMIT",
        pool_timeout=PG_POOL_TIMEOUT_S,
        connect_args={"timeout": PG_CONNECT_TIMEOUT_S},
    )

    def session_settings(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # Its statements all find rows by primary key. A seq scan is never right for them,
        # though a plan made while the statistics said the table was empty may think so.
        cursor = dbapi_conn.cursor()
        cursor.execute("SELECT set_config('enable_seqscan', 'off', false)")
        cursor.close()

    event.listen(engine.sync_engine, "connect", session_settings)
    return engine


class Database:
    """The engines plus `transaction(owner)`: one transaction scoped to one owner.

    `system_url` is the login for cross-owner work; without it (SQLite, or one PostgreSQL
    login for everything) both kinds of work share one engine."""

    def __init__(self, url: str, system_url: str | None = None) -> None:
        self.url = url
        self.system_url = system_url or url
        self.engine = make_engine(url)
        # Cross-owner work is the reconciler's, the admin views' and the CLI's: a small pool.
        self.system_engine = (
            self.engine
            if self.system_url == url
            else make_engine(
                self.system_url, pool_size=SYSTEM_POOL_SIZE, max_overflow=SYSTEM_POOL_OVERFLOW
            )
        )
        self.is_postgres = self.engine.dialect.name == "postgresql"

    @asynccontextmanager
    async def transaction(self, owner_id: str | None) -> AsyncIterator[AsyncConnection]:
        """A transaction for `owner_id`, or for system work when it is None."""
        if owner_id is SYSTEM:
            async with self.system_engine.begin() as conn:
                yield conn
            return
        async with self.engine.begin() as conn:
            if self.is_postgres:
                await conn.execute(
                    text("SELECT set_config('ultudy.owner_id', :owner, true)"), {"owner": owner_id}
                )
            yield conn

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.system_engine is not self.engine:
            await self.system_engine.dispose()
