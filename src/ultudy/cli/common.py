"""What every command shares: its settings (and the logging they configure) and a job
service against the configured database and broker."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import typer

from ultudy.config import Settings
from ultudy.logs import setup_logging


def load_settings() -> Settings:
    settings = Settings()
    setup_logging(settings.log_level, settings.log_format)
    return settings


def with_service(work: Callable[[Any], Awaitable[Any]]) -> Any:
    """Run `work(service)` against the configured database and broker."""
    from ultudy import bootstrap

    settings = load_settings()

    async def main() -> Any:
        async with bootstrap.running(settings, role="cli") as container:
            return await work(container.jobs)

    from ultudy.errors import NotFoundError
    from ultudy.jobs.service import JobStateError

    try:
        return asyncio.run(main())
    except (NotFoundError, JobStateError) as exc:  # the operator's answer, not a crash
        typer.echo(f"ultudy: {exc.message}", err=True)
        raise typer.Exit(1) from None
