"""Retention of job rows (jobs.retention): the worker's reconciler pass and `ultudy jobs
prune` delete only terminal rows that ended long enough ago, of every owner (on
PostgreSQL through the system login, past row-level security), and what those jobs made
stays."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update

from tests.support.backends import Backend
from tests.support.cli import assert_config_error, run_cli
from tests.support.system import JobSystem, job_system
from ultudy.db.models import documents, jobs
from ultudy.db.study import insert_document
from ultudy.db.types import utcnow
from ultudy.jobs.reconciler import Reconciler
from ultudy.jobs.states import JobStatus
from ultudy.kinds import JobType

LESSON = JobType.LESSON_GENERATION


async def make_row(
    system: JobSystem, owner: str, status: JobStatus, age: timedelta, *, with_document: bool
) -> uuid.UUID:
    """A row of `owner` in `status` that last changed `age` ago (and its document)."""
    record = await system.store.create(owner_id=owner, type=LESSON, input_data={}, max_attempts=1)
    async with system.store.db.transaction(None) as conn:
        await conn.execute(
            update(jobs)
            .where(jobs.c.id == record.id)
            .values(status=status.value, updated_at=utcnow() - age)
        )
    if with_document:
        document = {
            "title": "made by an old job",
            "filename": "",
            "storage_key": "",
            "sha256": "",
            "page_count": 0,
            "pages_without_text": [],
        }
        async with system.store.db.transaction(owner) as conn:
            await insert_document(conn, owner, document, [], job_id=record.id)
    return record.id


async def seed(system: JobSystem) -> tuple[set[uuid.UUID], uuid.UUID, set[uuid.UUID]]:
    """Rows that must go at 30 days (terminal, 40 days old, two owners), a terminal row 20
    days old, and unfinished rows 40 days old (never deleted)."""
    old = timedelta(days=40)
    gone = {
        await make_row(system, "alice", JobStatus.COMPLETED, old, with_document=True),
        await make_row(system, "bob", JobStatus.FAILED, old, with_document=False),
        await make_row(system, "bob", JobStatus.CANCELLED, old, with_document=False),
    }
    young = await make_row(
        system, "alice", JobStatus.COMPLETED, timedelta(days=20), with_document=True
    )
    active = {
        await make_row(system, "alice", JobStatus.PENDING, old, with_document=False),
        await make_row(system, "bob", JobStatus.PROCESSING, old, with_document=False),
    }
    return gone, young, active


async def job_ids(system: JobSystem) -> set[uuid.UUID]:
    async with system.store.db.transaction(None) as conn:
        return set((await conn.execute(select(jobs.c.id))).scalars())


async def document_jobs(system: JobSystem) -> set[uuid.UUID]:
    async with system.store.db.transaction(None) as conn:
        return set((await conn.execute(select(documents.c.job_id))).scalars())


async def test_the_worker_deletes_only_old_terminal_rows_and_keeps_their_effects(
    backend: Backend,
) -> None:
    async with job_system(backend) as system:
        gone, young, active = await seed(system)
        kept = {young, *active}
        made = await document_jobs(system)
        # retention 0 keeps everything
        system.queues.settings = backend.settings(job_row_retention_days=0)
        await system.reconciler.run_once(min_age_s=3600)
        assert await job_ids(system) == gone | kept
        system.queues.settings = backend.settings(job_row_retention_days=30)
        reconciler = Reconciler(system.store, system.queues, system.events)
        await reconciler.run_once(min_age_s=3600)  # the worker's pass (nothing to re-enqueue)
        assert await job_ids(system) == kept
        assert await document_jobs(system) == made  # documents of deleted jobs stay


async def test_prune_by_hand(backend: Backend) -> None:
    async with job_system(backend) as system:
        _gone, young, active = await seed(system)
        made = await document_jobs(system)
        env = backend.env()
        done = run_cli(["jobs", "prune", "--older-than", "30d"], env)
        assert done.returncode == 0, done.stderr
        assert "deleted 3 job row(s) that ended over 30d ago" in done.stdout
        assert await job_ids(system) == {young, *active}
        assert await document_jobs(system) == made
        again = run_cli(["jobs", "prune", "--older-than", "2w"], env)
        assert again.returncode == 0, again.stderr
        assert "deleted 1 job row(s)" in again.stdout
        assert await job_ids(system) == active
        for bad, says in [
            ("30x", "--older-than '30x' is not a duration"),
            ("thirty days", "is not a duration"),
            ("-5d", "is not a duration"),
            ("10m", "--older-than '10m' is too short; at least 1h"),
        ]:
            assert_config_error(run_cli(["jobs", "prune", "--older-than", bad], env), says)
