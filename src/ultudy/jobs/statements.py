"""The `jobs` table's status-changing statements, shared by the store (one change per
transaction) and the writers (many changes per statement). Each moves a row only from a
state the state machine allows (`ALLOWED_FROM`), so two processes racing on one job cannot
both win."""

from __future__ import annotations

import functools
import uuid
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Uuid, bindparam, case, tuple_, update
from sqlalchemy.dialects import postgresql

from ultudy.db.models import jobs
from ultudy.db.types import UTCDateTime, utcnow
from ultudy.jobs.record import JobRecord
from ultudy.jobs.states import ALLOWED_FROM, JobStatus

# id, owner, started
StartItem = tuple[uuid.UUID, str, datetime]
# id, owner, result, finished, and started for a start and completion in one write
CompleteItem = (
    tuple[uuid.UUID, str, dict[str, Any], datetime]
    | tuple[uuid.UUID, str, dict[str, Any], datetime, datetime]
)


def sources(target: JobStatus) -> list[str]:
    """The states a row may move to `target` from."""
    return [s.value for s in ALLOWED_FROM[target]]


def transition_statement(
    job_id: uuid.UUID, target: JobStatus, values: dict[str, Any], owner_id: str | None
) -> Any:
    """Move one job to `target` if the state machine allows it (RETURNING the row)."""
    query = (
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.status.in_(sources(target)))
        .values(status=target.value, updated_at=utcnow(), **values)
        .returning(jobs)
    )
    return query if owner_id is None else query.where(jobs.c.owner_id == owner_id)


def progress_statement(job_id: uuid.UUID, progress: int, message: str | None) -> Any:
    return (
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.status == JobStatus.PROCESSING.value)
        .values(progress=progress, progress_message=message, updated_at=utcnow())
    )


# The batch statements name the ids on their own as well as (id, owner) pairs: SQLite's
# planner does not use the primary key for a row-value IN, and without `ids` scanned every
# row of the status (a queue backlog of pending rows) on each write.


def _per_row(size: int, name: str, type_: Any) -> Any:
    """CASE id WHEN :i0 THEN :<name>0 ...: each row's own value in a many-row UPDATE."""
    return case(
        *[
            (jobs.c.id == bindparam(f"i{n}", type_=Uuid()), bindparam(f"{name}{n}", type_=type_))
            for n in range(size)
        ]
    )


@functools.lru_cache(maxsize=128)
def _start_many_statement(size: int) -> Any:
    # One statement shape per batch size: compiled once, then only bound.
    started = _per_row(size, "t", UTCDateTime())
    return (
        update(jobs)
        .where(
            jobs.c.id.in_(bindparam("ids", expanding=True)),  # the primary key, see above
            tuple_(jobs.c.id, jobs.c.owner_id).in_(bindparam("keys", expanding=True)),
            jobs.c.status.in_(sources(JobStatus.PROCESSING)),
        )
        .values(
            status=JobStatus.PROCESSING.value,
            updated_at=started,
            started_at=started,
            attempts=jobs.c.attempts + 1,
            progress=0,
            error_message=None,
            completed_at=None,
        )
        .returning(jobs.c.id, jobs.c.owner_id, jobs.c.attempts)
    )


def start_many_statement(items: list[StartItem]) -> tuple[Any, dict[str, Any]]:
    """Many starts in one statement (the worker's group commit), each at its own time."""
    params: dict[str, Any] = {
        "ids": [i for i, _, _ in items],
        "keys": [(i, o) for i, o, _ in items],
    }
    for n, (job_id, _, started) in enumerate(items):
        params[f"i{n}"] = job_id
        params[f"t{n}"] = started
    return _start_many_statement(len(items)), params


@functools.lru_cache(maxsize=128)
def _complete_many_statement(size: int, *, from_start: bool) -> Any:
    # `from_start`: the start and the end of a short job in one write (both were queued
    # in the same flush), so it is allowed from every state a start is allowed from.
    allowed = sources(JobStatus.PROCESSING if from_start else JobStatus.COMPLETED)
    finished = _per_row(size, "t", UTCDateTime())
    started = {"started_at": _per_row(size, "s", UTCDateTime()), "attempts": jobs.c.attempts + 1}
    return (
        update(jobs)
        .where(
            jobs.c.id.in_(bindparam("ids", expanding=True)),  # the primary key, see above
            tuple_(jobs.c.id, jobs.c.owner_id).in_(bindparam("keys", expanding=True)),
            jobs.c.status.in_(allowed),
        )
        .values(
            status=JobStatus.COMPLETED.value,
            updated_at=finished,
            completed_at=finished,
            progress=100,
            progress_message="Done",
            error_message=None,
            result_data=_per_row(size, "r", JSON()),
            **(started if from_start else {}),
        )
        .returning(jobs)
    )


def complete_many_statement(
    items: list[CompleteItem], *, from_start: bool = False
) -> tuple[Any, dict[str, Any]]:
    """Many completions in one statement, each with its own result and times."""
    params: dict[str, Any] = {
        "ids": [item[0] for item in items],
        "keys": [(item[0], item[1]) for item in items],
    }
    for n, item in enumerate(items):
        params[f"i{n}"], params[f"r{n}"], params[f"t{n}"] = item[0], item[2], item[3]
        if from_start:
            params[f"s{n}"] = item[4]  # type: ignore[misc]
    return _complete_many_statement(len(items), from_start=from_start), params


def _not_from(target: JobStatus) -> str:
    """`j.status NOT IN (the states that may not go to target)`: the same rows as an IN of
    the allowed ones, but no index can serve it, so plans go by key (see _PG_MATCH)."""
    barred = [s.value for s in JobStatus if s.value not in sources(target)]
    return "j.status NOT IN (" + ", ".join(f"'{status}'" for status in barred) + ")"


# PostgreSQL: the worker's hot batch writes as fixed statements over arrays, so one prepared
# statement serves every batch size. The writer runs them on its own connection, without
# SQLAlchemy, whose CPU per flush cost more than the statement (README, Measured).
# They set exactly what start_many_statement / complete_many_statement set.
_PG_COMPLETE = """status = 'completed', updated_at = v.at, completed_at = v.at,
    progress = 100, progress_message = 'Done', error_message = NULL,
    result_data = v.result::json"""
_PG_ENDS = (
    "unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[]) AS v(id, owner_id, result, at)"
)
_PG_RUNS = (
    "unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[])"
    " AS v(id, owner_id, result, at, started)"
)
# The statements are prepared, and after a few runs PostgreSQL may reuse a generic plan
# made from whatever the statistics said then. Made while they said the table was empty,
# it walked the status index (the whole pending backlog) on every flush, slower with every
# pending row. Made while every owner had a job or two (and the primary key was large from
# deleted rows), it walked the owner index: all of one owner's rows for each job of a
# flush, so a heavy user's flushes slowed with every row they had (the bench's 5,000-job
# rounds went from 0.4 to 2 ms of PostgreSQL CPU per job). So neither the status test nor
# the owner test can be served by an index (`|| ''` keeps the owner comparison exact but
# makes it an expression no index holds), and the key is also written as `id = ANY($1)`:
# the primary key it is.
_PG_MATCH = "j.id = ANY($1::uuid[]) AND j.id = v.id AND j.owner_id || '' = v.owner_id"


def _pg_insert_sql() -> str:
    """INSERT of many rows from one array per column (JSON travels as text, then cast)."""
    names = [f.name for f in fields(JobRecord)]
    compiler = postgresql.dialect().type_compiler_instance  # type: ignore[no-untyped-call]
    types = [compiler.process(jobs.c[n].type) for n in names]
    arrays = ", ".join(f"${k + 1}::{'text' if t == 'JSON' else t}[]" for k, t in enumerate(types))
    values = ", ".join(
        f"v.{n}::json" if t == "JSON" else f"v.{n}" for n, t in zip(names, types, strict=True)
    )
    return (
        f"INSERT INTO jobs ({', '.join(names)}) SELECT {values} "
        f"FROM unnest({arrays}) AS v({', '.join(names)})"
    )


PG_JSON_COLUMNS = frozenset(c.name for c in jobs.c if isinstance(c.type, JSON))
PG_BATCH_SQL = {
    "create": _pg_insert_sql(),
    "start": f"""UPDATE jobs AS j SET status = 'processing', updated_at = v.at,
    started_at = v.at, attempts = j.attempts + 1, progress = 0, error_message = NULL,
    completed_at = NULL
    FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) AS v(id, owner_id, at)
    WHERE {_PG_MATCH} AND {_not_from(JobStatus.PROCESSING)}
    RETURNING j.id, j.owner_id, j.attempts""",
    "complete": f"""UPDATE jobs AS j SET {_PG_COMPLETE} FROM {_PG_ENDS}
    WHERE {_PG_MATCH} AND {_not_from(JobStatus.COMPLETED)} RETURNING j.*""",
    "run": f"""UPDATE jobs AS j SET {_PG_COMPLETE}, started_at = v.started,
    attempts = j.attempts + 1 FROM {_PG_RUNS}
    WHERE {_PG_MATCH} AND {_not_from(JobStatus.PROCESSING)} RETURNING j.*""",
}
