"""The `jobs` table: every status change is one conditional UPDATE that enforces the
state machine in SQL, so two processes racing on one job cannot both win."""

from __future__ import annotations

import base64
import functools
import uuid
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Uuid, and_, bindparam, case, func, insert, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from ultudy.db import Database
from ultudy.db.models import jobs
from ultudy.db.types import UTCDateTime, utcnow
from ultudy.errors import JobInputError
from ultudy.jobs.states import ALLOWED_FROM, JobStatus


@dataclass(frozen=True, kw_only=True)
class JobRecord:
    id: uuid.UUID
    owner_id: str
    type: str
    status: str
    progress: int
    progress_message: str | None
    input_data: dict[str, Any]
    result_data: dict[str, Any] | None
    error_message: str | None
    attempts: int
    max_attempts: int
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    updated_at: datetime
    inline: bool = False
    priority: int = 0
    run_at: datetime | None = None

    def to_public(self) -> dict[str, Any]:
        # Shallow on purpose: asdict() deep-copies the JSON columns, on the hot path.
        data = row_values(self)
        data["id"] = str(self.id)
        for key in ("created_at", "started_at", "completed_at", "updated_at", "run_at"):
            value = data[key]
            data[key] = value.isoformat().replace("+00:00", "Z") if value else None
        return data


@dataclass(frozen=True, kw_only=True)
class JobPage:
    jobs: list[JobRecord]
    next_cursor: str | None


def encode_cursor(record: JobRecord) -> str:
    raw = f"{record.created_at.isoformat()}|{record.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, job_id = raw.split("|", 1)
        return datetime.fromisoformat(created), uuid.UUID(job_id)
    except ValueError as exc:
        raise JobInputError("cursor is not one this API returned") from exc


def _record(row: Any) -> JobRecord:
    return JobRecord(**row._mapping)


# id, owner, started
StartItem = tuple[uuid.UUID, str, datetime]
# id, owner, result, finished, and started for a start and completion in one write
CompleteItem = (
    tuple[uuid.UUID, str, dict[str, Any], datetime]
    | tuple[uuid.UUID, str, dict[str, Any], datetime, datetime]
)


def new_job(
    *, owner_id: str, type: str, input_data: dict[str, Any], max_attempts: int,
    inline: bool = False, priority: int = 0, run_at: datetime | None = None,
) -> JobRecord:  # fmt: skip
    """A pending job, all values made here (no database default), so no read-back is needed."""
    now = utcnow()
    return JobRecord(
        id=uuid.uuid4(), owner_id=owner_id, type=str(type), status=JobStatus.PENDING.value,
        progress=0, progress_message=None, input_data=input_data, result_data=None,
        error_message=None, attempts=0, max_attempts=max_attempts, created_at=now,
        started_at=None, completed_at=None, updated_at=now, inline=inline, priority=priority,
        run_at=run_at,
    )  # fmt: skip


def row_values(record: JobRecord) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in fields(record)}


def _start_values() -> dict[str, Any]:
    return {"started_at": utcnow(), "attempts": jobs.c.attempts + 1, "progress": 0,
            "error_message": None}  # fmt: skip


def _complete_values() -> dict[str, Any]:
    return {"progress": 100, "progress_message": "Done", "completed_at": utcnow(),
            "error_message": None}  # fmt: skip


def _sources(target: JobStatus) -> list[str]:
    return [s.value for s in ALLOWED_FROM[target]]


def transition_statement(
    job_id: uuid.UUID, target: JobStatus, values: dict[str, Any], owner_id: str | None
) -> Any:
    """Move one job to `target` if the state machine allows it (RETURNING the row)."""
    query = (
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.status.in_(_sources(target)))
        .values(status=target.value, updated_at=utcnow(), **values)
        .returning(jobs)
    )
    return query if owner_id is None else query.where(jobs.c.owner_id == owner_id)


# The batch statements name the ids on their own as well as (id, owner) pairs: SQLite's
# planner does not use the primary key for a row-value IN, and without `ids` scanned every
# row of the status (a queue backlog of pending rows) on each write.


def _per_row(size: int, name: str, type_: Any) -> Any:
    """CASE id WHEN :i0 THEN :<name>0 ...: each row's own value in a many-row UPDATE."""
    return case(*[(jobs.c.id == bindparam(f"i{n}", type_=Uuid()),
                   bindparam(f"{name}{n}", type_=type_)) for n in range(size)])  # fmt: skip


@functools.lru_cache(maxsize=128)
def _start_many_statement(size: int) -> Any:
    # One statement shape per batch size: compiled once, then only bound.
    started = _per_row(size, "t", UTCDateTime())
    return (
        update(jobs)
        .where(jobs.c.id.in_(bindparam("ids", expanding=True)),  # the primary key, see above
               tuple_(jobs.c.id, jobs.c.owner_id).in_(bindparam("keys", expanding=True)),
               jobs.c.status.in_(_sources(JobStatus.PROCESSING)))
        .values(status=JobStatus.PROCESSING.value, updated_at=started, started_at=started,
                attempts=jobs.c.attempts + 1, progress=0, error_message=None)
        .returning(jobs.c.id, jobs.c.owner_id, jobs.c.attempts)
    )  # fmt: skip


def start_many_statement(items: list[StartItem]) -> tuple[Any, dict[str, Any]]:
    """Many starts in one statement (the worker's group commit), each at its own time."""
    params: dict[str, Any] = {"ids": [i for i, _, _ in items],
                              "keys": [(i, o) for i, o, _ in items]}  # fmt: skip
    for n, (job_id, _, started) in enumerate(items):
        params[f"i{n}"] = job_id
        params[f"t{n}"] = started
    return _start_many_statement(len(items)), params


@functools.lru_cache(maxsize=128)
def _complete_many_statement(size: int, *, from_start: bool) -> Any:
    # `from_start`: the start and the end of a short job in one write (both were queued
    # in the same flush), so it is allowed from every state a start is allowed from.
    sources = _sources(JobStatus.PROCESSING if from_start else JobStatus.COMPLETED)
    finished = _per_row(size, "t", UTCDateTime())
    started = {"started_at": _per_row(size, "s", UTCDateTime()),
               "attempts": jobs.c.attempts + 1}  # fmt: skip
    return (
        update(jobs)
        .where(jobs.c.id.in_(bindparam("ids", expanding=True)),  # the primary key, see above
               tuple_(jobs.c.id, jobs.c.owner_id).in_(bindparam("keys", expanding=True)),
               jobs.c.status.in_(sources))
        .values(status=JobStatus.COMPLETED.value, updated_at=finished, completed_at=finished,
                progress=100, progress_message="Done", error_message=None,
                result_data=_per_row(size, "r", JSON()), **(started if from_start else {}))
        .returning(jobs)
    )  # fmt: skip


def complete_many_statement(
    items: list[CompleteItem], *, from_start: bool = False
) -> tuple[Any, dict[str, Any]]:
    """Many completions in one statement, each with its own result and times."""
    params: dict[str, Any] = {"ids": [item[0] for item in items],
                              "keys": [(item[0], item[1]) for item in items]}  # fmt: skip
    for n, item in enumerate(items):
        params[f"i{n}"], params[f"r{n}"], params[f"t{n}"] = item[0], item[2], item[3]
        if from_start:
            params[f"s{n}"] = item[4]  # type: ignore[misc]
    return _complete_many_statement(len(items), from_start=from_start), params


def _not_from(target: JobStatus) -> str:
    """`j.status NOT IN (the states that may not go to target)`: the same rows as an IN of
    the allowed ones, but no index can serve it, so plans go by key (see _PG_MATCH)."""
    barred = [s.value for s in JobStatus if s.value not in _sources(target)]
    return "j.status NOT IN (" + ", ".join(f"'{status}'" for status in barred) + ")"


# PostgreSQL: the worker's hot batch writes as fixed statements over arrays, so one prepared
# statement serves every batch size. The writer runs them on its own connection, without
# SQLAlchemy, which spent ~1 ms of CPU per flush on this machine around a ~0.4 ms statement.
# They set exactly what start_many_statement / complete_many_statement set.
_PG_COMPLETE = """status = 'completed', updated_at = v.at, completed_at = v.at,
    progress = 100, progress_message = 'Done', error_message = NULL,
    result_data = v.result::json"""
_PG_ENDS = ("unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[])"
            " AS v(id, owner_id, result, at)")  # fmt: skip
_PG_RUNS = ("unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[])"
            " AS v(id, owner_id, result, at, started)")  # fmt: skip
# The statements are prepared, and after a few runs PostgreSQL may reuse a generic plan
# made from whatever the statistics said then. Made while they said the table was empty,
# it walked the status index (the whole pending backlog) on every flush: 0.5 -> 4.7 ms of
# server time per 16-row flush, growing with the backlog. So the status test is written
# so that no index serves it, and the key also as `id = ANY($1)`: the primary key it is.
_PG_MATCH = "j.id = ANY($1::uuid[]) AND j.id = v.id AND j.owner_id = v.owner_id"


def _pg_insert_sql() -> str:
    """INSERT of many rows from one array per column (JSON travels as text, then cast)."""
    names = [f.name for f in fields(JobRecord)]
    compiler = postgresql.dialect().type_compiler_instance  # type: ignore[no-untyped-call]
    types = [compiler.process(jobs.c[n].type) for n in names]
    arrays = ", ".join(f"${k + 1}::{'text' if t == 'JSON' else t}[]"
                       for k, t in enumerate(types))  # fmt: skip
    values = ", ".join(
        f"v.{n}::json" if t == "JSON" else f"v.{n}" for n, t in zip(names, types, strict=True)
    )
    return (f"INSERT INTO jobs ({', '.join(names)}) SELECT {values} "
            f"FROM unnest({arrays}) AS v({', '.join(names)})")  # fmt: skip


PG_JSON_COLUMNS = frozenset(c.name for c in jobs.c if isinstance(c.type, JSON))
PG_BATCH_SQL = {
    "create": _pg_insert_sql(),
    "start": f"""UPDATE jobs AS j SET status = 'processing', updated_at = v.at,
    started_at = v.at, attempts = j.attempts + 1, progress = 0, error_message = NULL
    FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) AS v(id, owner_id, at)
    WHERE {_PG_MATCH} AND {_not_from(JobStatus.PROCESSING)}
    RETURNING j.id, j.owner_id, j.attempts""",
    "complete": f"""UPDATE jobs AS j SET {_PG_COMPLETE} FROM {_PG_ENDS}
    WHERE {_PG_MATCH} AND {_not_from(JobStatus.COMPLETED)} RETURNING j.*""",
    "run": f"""UPDATE jobs AS j SET {_PG_COMPLETE}, started_at = v.started,
    attempts = j.attempts + 1 FROM {_PG_RUNS}
    WHERE {_PG_MATCH} AND {_not_from(JobStatus.PROCESSING)} RETURNING j.*""",
}


def progress_statement(job_id: uuid.UUID, progress: int, message: str | None) -> Any:
    return (
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.status == JobStatus.PROCESSING.value)
        .values(progress=progress, progress_message=message, updated_at=utcnow())
    )


def claim_rows(rows: Any, keys: list[tuple[uuid.UUID, str]], *, full: bool) -> list[Any]:
    """Each updated row goes to the first request for it; a repeat in the batch gets None,
    exactly as if it had run after the first. `full` rows become JobRecords."""
    by_key = {(row.id, row.owner_id): _record(row) if full else row for row in rows}
    return [by_key.pop(key, None) for key in keys]


class JobStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        *,
        owner_id: str,
        type: str,
        input_data: dict[str, Any],
        max_attempts: int,
        inline: bool = False,
        priority: int = 0,
        run_at: datetime | None = None,
    ) -> JobRecord:
        record = new_job(owner_id=owner_id, type=type, input_data=input_data,
                         max_attempts=max_attempts, inline=inline, priority=priority,
                         run_at=run_at)  # fmt: skip
        async with self.db.transaction(owner_id) as conn:
            await conn.execute(insert(jobs), [row_values(record)])
        return record

    async def get(self, job_id: uuid.UUID, *, owner_id: str | None) -> JobRecord | None:
        query = select(jobs).where(jobs.c.id == job_id)
        if owner_id is not None:
            query = query.where(jobs.c.owner_id == owner_id)
        async with self.db.transaction(owner_id) as conn:
            row = (await conn.execute(query)).one_or_none()
        return _record(row) if row else None

    async def page(
        self,
        owner_id: str | None,
        *,
        status: JobStatus | None = None,
        type: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> JobPage:
        query = select(jobs).order_by(jobs.c.created_at.desc(), jobs.c.id.desc()).limit(limit + 1)
        if owner_id is not None:
            query = query.where(jobs.c.owner_id == owner_id)
        if status is not None:
            query = query.where(jobs.c.status == status.value)
        if type is not None:
            query = query.where(jobs.c.type == str(type))
        if cursor:
            created, last_id = decode_cursor(cursor)
            query = query.where(
                or_(
                    jobs.c.created_at < created,
                    and_(jobs.c.created_at == created, jobs.c.id < last_id),
                )
            )
        async with self.db.transaction(owner_id) as conn:
            rows = [_record(r) for r in await conn.execute(query)]
        more = len(rows) > limit
        rows = rows[:limit]
        return JobPage(jobs=rows, next_cursor=encode_cursor(rows[-1]) if more else None)

    async def transition_in(
        self,
        conn: AsyncConnection,
        job_id: uuid.UUID,
        target: JobStatus,
        values: dict[str, Any],
        *,
        owner_id: str | None,
    ) -> JobRecord | None:
        row = (await conn.execute(transition_statement(job_id, target, values, owner_id))).first()
        return _record(row) if row else None

    async def transition(
        self,
        job_id: uuid.UUID,
        target: JobStatus,
        *,
        owner_id: str | None,
        **values: Any,
    ) -> JobRecord | None:
        """Move the job to `target` if the state machine allows it; None when it did not."""
        async with self.db.transaction(owner_id) as conn:
            return await self.transition_in(conn, job_id, target, values, owner_id=owner_id)

    async def start(self, job_id: uuid.UUID, *, owner_id: str) -> JobRecord | None:
        """pending (or processing, after a stall) -> processing; None if not runnable."""
        return await self.transition(job_id, JobStatus.PROCESSING, owner_id=owner_id,
                                     **_start_values())  # fmt: skip

    async def set_progress(
        self, job_id: uuid.UUID, progress: int, message: str | None, *, owner_id: str | None
    ) -> bool:
        async with self.db.transaction(owner_id) as conn:
            result = await conn.execute(progress_statement(job_id, progress, message))
        return bool(result.rowcount)

    async def complete(
        self, job_id: uuid.UUID, result: dict[str, Any], *, owner_id: str
    ) -> JobRecord | None:
        return await self.transition(
            job_id, JobStatus.COMPLETED, owner_id=owner_id, result_data=result,
            **_complete_values(),
        )  # fmt: skip

    async def fail(
        self, job_id: uuid.UUID, message: str, *, owner_id: str | None
    ) -> JobRecord | None:
        return await self.transition(
            job_id, JobStatus.FAILED, owner_id=owner_id, error_message=message,
            completed_at=utcnow(),
        )  # fmt: skip

    async def cancel(self, job_id: uuid.UUID, *, owner_id: str | None) -> JobRecord | None:
        return await self.transition(
            job_id, JobStatus.CANCELLED, owner_id=owner_id,
            error_message="Cancelled", completed_at=utcnow(),
        )  # fmt: skip

    async def requeue(
        self, job_id: uuid.UUID, message: str, *, owner_id: str | None
    ) -> JobRecord | None:
        """processing -> pending, waiting for a retry; the error is kept for the user."""
        return await self.transition(
            job_id, JobStatus.PENDING, owner_id=owner_id, progress_message=message,
            error_message=message,
        )  # fmt: skip

    async def unfinished(
        self, *, older_than_s: float, inline: bool = False, limit: int = 500,
        after: tuple[datetime, uuid.UUID] | None = None,
    ) -> list[JobRecord]:  # fmt: skip
        """Cross-owner: queued (or, with `inline`, sync) rows still pending or processing,
        not touched for `older_than_s`, oldest first; with `after`, those after that
        (updated_at, id) only, to page through them."""
        cutoff = utcnow() - timedelta(seconds=older_than_s)
        query = (
            select(jobs)
            .where(
                jobs.c.status.in_([JobStatus.PENDING.value, JobStatus.PROCESSING.value]),
                jobs.c.updated_at <= cutoff,
                jobs.c.inline.is_(inline),
            )
            .order_by(jobs.c.updated_at, jobs.c.id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(tuple_(jobs.c.updated_at, jobs.c.id) > after)
        async with self.db.transaction(None) as conn:
            return [_record(r) for r in await conn.execute(query)]

    async def count_by_status(self) -> dict[str, int]:
        query = select(jobs.c.status, func.count()).group_by(jobs.c.status)
        async with self.db.transaction(None) as conn:
            return {status: int(n) for status, n in await conn.execute(query)}
