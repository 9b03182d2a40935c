"""`ultudy jobs list|show|cancel|retry`: the operator's view of every owner's jobs."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

import typer

from ultudy.cli.common import with_service

app = typer.Typer(help="Operator view of all owners' jobs.", no_args_is_help=True)

LIST_FIELDS = ("id", "owner_id", "type", "status", "progress", "error_message", "created_at")


def _job_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a job id (a UUID)") from None


@app.command("list")
def jobs_list(
    status: Annotated[str | None, typer.Option(help="pending, processing, completed...")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
) -> None:
    """The newest jobs of every owner, one JSON object per line."""
    from ultudy.jobs.states import JobStatus

    try:
        wanted = JobStatus(status) if status else None
    except ValueError:
        known = ", ".join(s.value for s in JobStatus)
        raise typer.BadParameter(f"unknown status {status!r}; known: {known}") from None

    async def work(service: Any) -> None:
        page = await service.list(None, status=wanted, limit=limit)
        for job in page.jobs:
            public = job.to_public()
            typer.echo(json.dumps({k: public[k] for k in LIST_FIELDS}))

    with_service(work)


@app.command("show")
def jobs_show(job_id: str) -> None:
    """One job of any owner, whole (input, result, error, attempts, times), as JSON."""
    wanted = _job_id(job_id)

    async def work(service: Any) -> None:
        typer.echo(json.dumps((await service.get(None, wanted)).to_public(), indent=2))

    with_service(work)


@app.command("cancel")
def jobs_cancel(job_id: str) -> None:
    """Cancel a pending or running job of any owner."""
    wanted = _job_id(job_id)

    async def work(service: Any) -> None:
        typer.echo(json.dumps((await service.cancel(None, wanted)).to_public()))

    with_service(work)


@app.command("retry")
def jobs_retry(job_id: str) -> None:
    """Run a failed or cancelled job again (as a new job); prints the new job id."""
    wanted = _job_id(job_id)

    async def work(service: Any) -> None:
        typer.echo(str((await service.retry(None, wanted)).id))

    with_service(work)
