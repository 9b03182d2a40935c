"""Telling "the database is not there right now" from a bug.

An outage (the server stopped, restarting, refusing connections, a connection dropped,
the pool exhausted, a SQLite file locked for longer than the busy timeout) is worth
trying again shortly: the API answers 503 with Retry-After, the worker retries. Anything
else (a bad statement, a constraint) is a bug and stays a 500.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import exc as sa

from ultudy.errors import TransientError

# SQLSTATE classes and codes that mean the server, not the statement: 08 connection
# exception; 57P01-03 admin shutdown, crash shutdown, cannot connect now (starting up);
# 53300 too many connections.
PG_OUTAGE_SQLSTATE_PREFIXES = ("08", "57P01", "57P02", "57P03", "53300")
SQLITE_OUTAGE_MESSAGES = ("locked", "unable to open", "disk i/o")
_CHAIN_DEPTH = 8
# What a lost database raises on its way up: SQLAlchemy's wrappers, asyncpg's own errors
# (the group-committed writer talks to the driver), the socket's (asyncpg's connect).
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    sa.DBAPIError,
    sa.TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    ConnectionError,
    TimeoutError,
)


class DatabaseUnavailableError(TransientError):
    """The database is unavailable; try again shortly."""


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The error and what it wraps: SQLAlchemy's `orig`, then causes and contexts."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < _CHAIN_DEPTH:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        nxt = orig if isinstance(orig, BaseException) else None
        current = nxt or current.__cause__ or current.__context__


def _is_outage(exc: BaseException) -> bool:
    # sa.TimeoutError: no pooled connection came free in time; ConnectionError (refused,
    # reset) and TimeoutError: asyncpg's connect, which raises the socket's own errors.
    if isinstance(exc, DatabaseUnavailableError | sa.TimeoutError | ConnectionError | TimeoutError):
        return True
    if isinstance(exc, sa.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, asyncpg.PostgresConnectionError):
        return True
    if isinstance(exc, asyncpg.PostgresError):
        return str(exc.sqlstate or "").startswith(PG_OUTAGE_SQLSTATE_PREFIXES)
    if isinstance(exc, asyncpg.InterfaceError):  # also raised for misuse: only a lost link
        return "closed" in str(exc) or "connection" in str(exc)
    if isinstance(exc, sqlite3.OperationalError):
        return any(text in str(exc).lower() for text in SQLITE_OUTAGE_MESSAGES)
    return False


def is_outage(exc: BaseException) -> bool:
    """Whether `exc` (or what it wraps) says the database cannot be reached right now."""
    return any(_is_outage(link) for link in _chain(exc))
