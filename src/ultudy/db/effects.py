"""Rows written once per job.

Delivery is at-least-once: a worker killed after its insert, or a completion written
behind and lost, runs the job again. So a processor writes its effects under its job id
(a unique key): a second run, or a concurrent one, inserts nothing and reads the first
run's rows instead, and nothing doubles.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


async def insert_once(conn: AsyncConnection, table: Table, values: dict[str, Any]) -> bool:
    """Insert the row unless it would break a unique key; True when this call inserted it.

    A concurrent insert of the same key waits for the first to commit (PostgreSQL's unique
    index, SQLite's single writer) and then inserts nothing, so the loser can read the
    winner's row in its own transaction.
    """
    dialect: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(table).values(**values).on_conflict_do_nothing().returning(table.c.id)
    )
    return (await conn.execute(statement)).first() is not None


async def row_for_job(
    conn: AsyncConnection, table: Table, owner_id: str, job_id: uuid.UUID | None
) -> Any:
    """The row the job wrote into `table`, or None."""
    if job_id is None:
        return None
    query = select(table).where(table.c.job_id == job_id, table.c.owner_id == owner_id)
    return (await conn.execute(query)).one_or_none()


async def made_by(conn: AsyncConnection, table: Table, row_id: uuid.UUID) -> uuid.UUID | None:
    """The job that wrote the row (None: written by no job, or before jobs were recorded)."""
    made: uuid.UUID | None = (
        await conn.execute(select(table.c.job_id).where(table.c.id == row_id))
    ).scalar_one_or_none()
    return made
