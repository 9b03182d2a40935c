"""`ultudy jobs prune --older-than 30d`: delete old terminal job rows by hand (the worker
does it by itself past `ULTUDY_JOB_ROW_RETENTION_DAYS`; see `jobs.retention`)."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Annotated

import typer

from ultudy.cli.common import load_settings
from ultudy.errors import ConfigError

UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
DURATION = re.compile(r"(\d+)([mhdw])")
# Younger rows may still have their terminal event on its way (jobs.announce).
MIN_AGE = timedelta(hours=1)


def parse_age(text: str) -> timedelta:
    """`30d`, `12h`, `2w`, `90m`; ConfigError (one line, exit code 2) for anything else."""
    match = DURATION.fullmatch(text.strip())
    if match is None:
        raise ConfigError(
            f"--older-than {text!r} is not a duration: a number and a unit, m, h, d or w (e.g. 30d)"
        )
    age = timedelta(**{UNITS[match.group(2)]: int(match.group(1))})
    if age < MIN_AGE:
        raise ConfigError(f"--older-than {text!r} is too short; at least 1h")
    return age


def prune(
    older_than: Annotated[
        str, typer.Option(help="Age past which terminal rows go: 30d, 12h, 2w, 90m.")
    ],
) -> None:
    """Delete completed, failed and cancelled job rows that ended more than OLDER_THAN ago
    (their documents, lessons and check-ins stay); prints how many."""
    from ultudy.db import Database
    from ultudy.db.roles import log_login_warnings
    from ultudy.jobs.retention import prune as delete_old

    age = parse_age(older_than)
    settings = load_settings()

    async def main() -> int:
        db = Database(settings.resolved_database_url, settings.resolved_system_database_url)
        try:
            # the system login must see every owner's rows (not bound by row-level security)
            await log_login_warnings(db, refuse_unbound=False)
            return await delete_old(db, older_than=age)
        finally:
            await db.dispose()

    typer.echo(f"deleted {asyncio.run(main())} job row(s) that ended over {older_than} ago")


def register(jobs_app: typer.Typer) -> None:
    jobs_app.command("prune")(prune)
