"""A side effect keyed by its job's id, as every real processor's is (delivery is
at-least-once): a document written through the app's own `insert_document(job_id=...)`.
A redelivered job finds its first run's document and returns it, so a job that runs twice
still leaves one effect, and its result names that one."""

from __future__ import annotations

import time

from sqlalchemy import select, update

from ultudy.db.models import documents
from ultudy.db.study import insert_document
from ultudy.jobs.context import JobContext


async def keyed_effect(ctx: JobContext) -> str:
    """Write the job's document unless a run before this one did; returns the id of the
    one that stands."""
    async with ctx.services.db.transaction(ctx.owner_id) as conn:
        return str(
            await insert_document(
                conn, ctx.owner_id, _document(f"effect of {ctx.job_id}"), [], job_id=ctx.job_id
            )
        )


async def held_write(ctx: JobContext, hold_s: float, note: str | None) -> None:
    """Write the job's document and keep writing it in one transaction for `hold_s` (on
    SQLite: the file's write lock held meanwhile), after a line in the file `note` saying
    so. A cancellation lands in the middle of a statement, as a real processor's would."""
    async with ctx.services.db.transaction(ctx.owner_id) as conn:
        doc_id = await insert_document(
            conn, ctx.owner_id, _document(f"held by {ctx.job_id}"), [], job_id=ctx.job_id
        )
        if note is not None:
            with open(note, "a") as fh:
                fh.write(f"{ctx.job_id} holding\n")
        deadline = time.monotonic() + hold_s
        mine = documents.c.id == doc_id
        while time.monotonic() < deadline:
            await conn.execute(
                update(documents).where(mine).values(page_count=documents.c.page_count + 1)
            )
            await conn.execute(select(documents.c.page_count).where(mine))


def _document(title: str) -> dict[str, object]:
    return {
        "title": title,
        "filename": "",
        "storage_key": "",
        "sha256": "",
        "page_count": 0,
        "pages_without_text": [],
    }
