"""How a flush of queued row writes becomes statements (pure: no I/O).

A batched writer queues one `Op` per row change, in submission order. At a flush, `fuse`
merges each short job's start and completion into one `run` write, and `plan` turns runs
of consecutive ops of one kind into one statement each (`Step`).
"""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import insert

from ultudy.db.models import jobs
from ultudy.jobs.record import record_from_row, row_values
from ultudy.jobs.statements import (
    complete_many_statement,
    progress_statement,
    start_many_statement,
    transition_statement,
)

OpKind = Literal["create", "start", "progress", "complete", "run", "transition"]
JobKey = tuple[uuid.UUID, str]  # job id, owner
Unpack = Callable[[list[Any]], list[Any]]


@dataclass(frozen=True, kw_only=True, slots=True)
class Op:
    """One queued row change. Its payload by kind: create, the JobRecord; start, when it
    started; progress, (percent, message); complete, (result, finished); run (a start and
    completion fused), (result, finished, started); transition, (target, column values).
    A row keeps when each thing happened, not when the flush that carried it went."""

    kind: OpKind
    job_id: uuid.UUID
    owner_id: str
    payload: Any

    @property
    def key(self) -> JobKey:
        return self.job_id, self.owner_id

    def as_run(self, started: Any) -> Op:
        """This completion carrying its job's start as well."""
        result, finished = self.payload[:2]
        return Op(
            kind="run",
            job_id=self.job_id,
            owner_id=self.owner_id,
            payload=(result, finished, started),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class Step:
    """One statement of a flush: its parameters (a list: executemany), the indexes of the
    ops it covers, and how its returned rows become one result per op."""

    statement: Any
    params: Any
    index: list[int]
    unpack: Unpack

    def place(self, results: list[Any], returned: Any) -> None:
        """Put each op's result (from the statement's SQLAlchemy result) in `results`."""
        rows = list(returned) if returned.returns_rows else []
        for n, value in zip(self.index, self.unpack(rows), strict=True):
            results[n] = value


def fuse(ops: list[Op]) -> tuple[list[tuple[int, Op]], dict[int, int]]:
    """A job whose start and completion are both in this flush, with at most progress
    writes between them, becomes one `run` write (the completion's progress supersedes
    theirs). Returns the (index, op) to apply and start index -> run index."""
    by_job: dict[JobKey, list[int]] = defaultdict(list)
    for n, op in enumerate(ops):
        by_job[op.key].append(n)
    alias: dict[int, int] = {}
    superseded: set[int] = set()
    for index in by_job.values():
        kinds = [ops[n].kind for n in index]
        if (
            len(index) >= 2
            and kinds[0] == "start"
            and kinds[-1] == "complete"
            and all(kind == "progress" for kind in kinds[1:-1])
        ):
            alias[index[0]] = index[-1]
            superseded.update(index[1:-1])
    started = {run: ops[start].payload for start, run in alias.items()}
    kept = [
        (n, op.as_run(started[n]) if n in started else op)
        for n, op in enumerate(ops)
        if n not in alias and n not in superseded
    ]
    return kept, alias


def plan(kept: list[tuple[int, Op]]) -> list[Step]:
    """Consecutive ops of one kind (create, start, complete, run) become one statement."""
    steps: list[Step] = []
    for kind, run in itertools.groupby(kept, key=lambda item: item[1].kind):
        batch = list(run)
        index = [n for n, _ in batch]
        ops = [op for _, op in batch]
        keys = [op.key for op in ops]
        if kind == "create":
            rows = [row_values(op.payload) for op in ops]
            steps.append(
                Step(statement=insert(jobs), params=rows, index=index, unpack=_nothing(len(rows)))
            )
        elif kind == "start":
            statement, params = start_many_statement([(*op.key, op.payload) for op in ops])
            steps.append(
                Step(
                    statement=statement,
                    params=params,
                    index=index,
                    unpack=_claimer(keys, full=False),
                )
            )
        elif kind in ("complete", "run"):
            ends = [(*op.key, *op.payload) for op in ops]
            statement, params = complete_many_statement(ends, from_start=kind == "run")
            steps.append(
                Step(
                    statement=statement,
                    params=params,
                    index=index,
                    unpack=_claimer(keys, full=True),
                )
            )
        else:
            steps += [_single(n, op) for n, op in batch]
    return steps


def claim(by_key: dict[JobKey, Any], keys: list[JobKey]) -> list[Any]:
    """Each updated row goes to the first request for it; a repeat in the batch gets None,
    exactly as if it had run after the first."""
    return [by_key.pop(key, None) for key in keys]


def _nothing(count: int) -> Unpack:
    return lambda _rows: [None] * count


def _claimer(keys: list[JobKey], *, full: bool) -> Unpack:
    """`full` rows (whole rows returned) become JobRecords."""
    return lambda rows: claim(
        {(row.id, row.owner_id): record_from_row(row) if full else row for row in rows}, keys
    )


def _single(index: int, op: Op) -> Step:
    if op.kind == "progress":
        return Step(
            statement=progress_statement(op.job_id, *op.payload),
            params={},
            index=[index],
            unpack=lambda _rows: [None],
        )
    target, values = op.payload
    statement = transition_statement(op.job_id, target, values, op.owner_id)
    return Step(
        statement=statement,
        params={},
        index=[index],
        unpack=lambda rows: [record_from_row(rows[0]) if rows else None],
    )
