"""The batched writer's planning on made-up ops (no database): which writes are fused,
which superseded, in what order, in how many statements; and which queued writes an
awaited one takes along."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ultudy.jobs.batching import GroupCommit
from ultudy.jobs.planning import JobKey, Op, OpKind, claim, fuse, plan
from ultudy.jobs.record import new_job, row_values
from ultudy.jobs.states import JobStatus
from ultudy.kinds import JobType

T0 = datetime(2025, 1, 1, tzinfo=UTC)
A, B, C, D = (uuid.UUID(int=n) for n in (1, 2, 3, 4))


def at(ms: int) -> datetime:
    return T0 + timedelta(milliseconds=ms)


def op(kind: OpKind, job_id: uuid.UUID, payload: Any = None, owner_id: str = "o") -> Op:
    return Op(kind=kind, job_id=job_id, owner_id=owner_id, payload=payload)


def start(job_id: uuid.UUID, ms: int = 0) -> Op:
    return op("start", job_id, at(ms))


def complete(job_id: uuid.UUID, result: dict[str, Any], ms: int = 10) -> Op:
    return op("complete", job_id, (result, at(ms)))


def progress(job_id: uuid.UUID, pct: int) -> Op:
    return op("progress", job_id, (pct, f"{pct} %"))


def shape(kept: list[tuple[int, Op]]) -> list[tuple[int, str, uuid.UUID]]:
    return [(n, o.kind, o.job_id) for n, o in kept]


def test_a_start_and_its_completion_in_one_flush_become_one_run() -> None:
    kept, alias = fuse([start(A, ms=1), complete(A, {"ok": 1}, ms=7)])
    assert shape(kept) == [(1, "run", A)]
    assert kept[0][1].payload == ({"ok": 1}, at(7), at(1))  # result, finished, started
    assert alias == {0: 1}  # the start's writer gets the run's row


def test_progress_between_a_start_and_its_completion_is_superseded() -> None:
    ops = [start(A), progress(A, 30), progress(A, 60), complete(A, {"ok": 1})]
    kept, alias = fuse(ops)
    assert shape(kept) == [(3, "run", A)]
    assert alias == {0: 3}


def test_only_a_start_then_progress_then_completion_of_one_job_is_fused() -> None:
    ops = [
        start(A),
        progress(A, 50),  # no end in this flush: both written
        start(B),
        op("transition", B, (JobStatus.FAILED, {})),  # not a completion
        complete(C, {"n": 1}),  # its start went in an earlier flush
        op(
            "create",
            A,
            new_job(owner_id="o", type=JobType.LESSON_GENERATION, input_data={}, max_attempts=1),
        ),
    ]
    kept, alias = fuse(ops)
    assert shape(kept) == [
        (0, "start", A),
        (1, "progress", A),
        (2, "start", B),
        (3, "transition", B),
        (4, "complete", C),
        (5, "create", A),
    ]
    assert alias == {}


def test_ops_keep_their_order_per_job_and_across_jobs() -> None:
    """Interleaved jobs: fused writes take the place of the completion; the rest stays in
    submission order. One job of two owners is two jobs."""
    ops = [
        start(A),
        start(B),
        progress(B, 10),
        complete(A, {"a": 1}),
        op("start", A, at(0), owner_id="other"),
        complete(B, {"b": 1}),
    ]
    kept, alias = fuse(ops)
    assert shape(kept) == [(3, "run", A), (4, "start", A), (5, "run", B)]
    assert kept[1][1].owner_id == "other"
    assert alias == {0: 3, 1: 5}


def test_consecutive_ops_of_one_kind_share_one_statement() -> None:
    ops = [
        start(A),
        start(B),
        complete(C, {"c": 1}),
        complete(D, {"d": 1}),
        progress(A, 40),
        progress(A, 50),
    ]
    steps = plan(fuse(ops)[0])
    assert [step.index for step in steps] == [[0, 1], [2, 3], [4], [5]]  # progress: one each
    assert steps[0].params["keys"] == [(A, "o"), (B, "o")]
    assert steps[1].params["ids"] == [C, D]


def test_a_run_and_a_plain_completion_are_different_statements() -> None:
    steps = plan(fuse([start(B), complete(C, {"c": 1}), complete(B, {"b": 1})])[0])
    assert [step.index for step in steps] == [[1], [2]]
    assert "s0" not in steps[0].params
    assert steps[1].params["s0"] == at(0)  # the run also sets when it started


def test_a_batch_of_creates_is_one_insert_of_every_row() -> None:
    records = [
        new_job(owner_id=o, type=JobType.MATERIAL_UPLOAD, input_data={"o": o}, max_attempts=2)
        for o in "xy"
    ]
    steps = plan(fuse([op("create", r.id, r, owner_id=r.owner_id) for r in records])[0])
    assert len(steps) == 1
    assert steps[0].params == [row_values(r) for r in records]
    assert steps[0].unpack([]) == [None, None]


def test_a_row_updated_once_goes_to_the_first_request_for_it() -> None:
    rows: dict[JobKey, Any] = {(A, "o"): "row-a", (B, "o"): "row-b"}
    assert claim(rows, [(A, "o"), (C, "o"), (A, "o"), (B, "o")]) == ["row-a", None, None, "row-b"]


def test_ops_and_steps_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        start(A).kind = "complete"  # type: ignore[misc]


async def test_an_awaited_write_takes_only_its_own_jobs_queued_writes() -> None:
    """The writer's group commit, keyed by job: a completion someone awaits goes at once
    with its own job's start and progress (fused into one run); another job's start and
    progress go on lingering, and follow in a flush of their own."""
    flushed: list[list[tuple[int, str, uuid.UUID]]] = []

    async def flush(ops: list[Op]) -> Sequence[Any]:
        flushed.append(shape(fuse(ops)[0]))
        return [None] * len(ops)

    group: GroupCommit[Op, Any] = GroupCommit(
        flush, name="test", linger_s=1.0, urgent_linger_s=0.0, key=lambda o: o.key
    )
    lingering = [group.submit_nowait(o) for o in (start(A), start(B), progress(A, 50))]
    lingering.append(group.submit_nowait(progress(B, 20)))
    await group.submit(complete(A, {"ok": 1}))
    assert flushed == [[(2, "run", A)]]  # indexes within that flush: start, progress, end
    assert [f.done() for f in lingering] == [True, False, True, False]
    await asyncio.gather(*lingering)
    assert flushed[1:] == [[(0, "start", B), (1, "progress", B)]]
