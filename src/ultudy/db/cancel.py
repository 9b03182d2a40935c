"""SQLite: a transaction whose task is cancelled mid-statement must end with its task.

SQLAlchemy invalidates a connection whose statement was interrupted by a cancellation and
closes it without a rollback. pysqlite's close leaves the connection a zombie while a
statement of it is unfinished (a SELECT whose rows were not all read, its cursor still
referenced by the cancelled task's traceback), and a zombie keeps its open transaction:
the file's write lock stayed held, and every other write, the worker's own last row
writes at shutdown included, waited out the busy timeout. Rolling back first ends the
transaction whatever happens to the handle.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

logger = logging.getLogger(__name__)


def roll_back_on_cancel(engine: AsyncEngine) -> None:
    """Roll back a connection invalidated by a cancellation before it is closed."""
    event.listen(engine.sync_engine, "invalidate", _roll_back_cancelled)


def _roll_back_cancelled(dbapi_conn: Any, _record: Any, exception: BaseException | None) -> None:
    if not isinstance(exception, asyncio.CancelledError):
        return
    try:
        # Shielded: the task is being cancelled; the rollback must run to its end anyway.
        # It is queued behind the interrupted statement on the connection's thread.
        await_only(asyncio.shield(dbapi_conn.driver_connection.rollback()))
    except Exception as exc:  # outside a greenlet, or the connection is gone: closed as is
        logger.debug("no rollback before closing a cancelled connection: %s", exc)
