"""A side effect keyed by its job's id, as every real processor's is (delivery is
at-least-once): a document written through the app's own `insert_document(job_id=...)`.
A redelivered job finds its first run's document and returns it, so a job that runs twice
still leaves one effect, and its result names that one."""

from __future__ import annotations

from ultudy.db.study import insert_document
from ultudy.jobs.context import JobContext


async def keyed_effect(ctx: JobContext) -> str:
    """Write the job's document unless a run before this one did; returns the id of the
    one that stands."""
    document = {"title": f"effect of {ctx.job_id}", "filename": "", "storage_key": "",
                "sha256": "", "page_count": 0, "pages_without_text": []}  # fmt: skip
    async with ctx.services.db.transaction(ctx.owner_id) as conn:
        return str(await insert_document(conn, ctx.owner_id, document, [], job_id=ctx.job_id))
