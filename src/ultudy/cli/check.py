"""`ultudy check`: can this host run a worker? Exit 0 when the settings load, the
processors import and the database and the broker answer; 1 (one line each) when not."""

from __future__ import annotations

import asyncio

import typer

from ultudy.cli.common import load_settings
from ultudy.config import Settings
from ultudy.probe import probe


async def _database_error(settings: Settings) -> str | None:
    from ultudy.db.engine import Database

    database = Database(settings.resolved_system_database_url)  # the worker's login
    try:
        return (await probe(database.ping())).error
    finally:
        await database.dispose()


async def _broker_error(redis_url: str | None) -> str | None:
    from ultudy.jobs.queue import connect_redis

    if not redis_url:
        return "no ULTUDY_REDIS_URL and no embedded broker running"
    redis = connect_redis(redis_url)
    try:
        return (await probe(redis.ping())).error
    finally:
        await redis.aclose()


async def _errors(settings: Settings, redis_url: str | None) -> dict[str, str | None]:
    db, broker = await asyncio.gather(_database_error(settings), _broker_error(redis_url))
    return {"database": db, "broker": broker}


def check() -> None:
    """Exit 0 if this host can run a worker (settings, processors, database, broker)."""
    from ultudy import bootstrap
    from ultudy.embedded import EmbeddedValkey

    settings = load_settings()
    bootstrap.load_kinds(settings)  # a bad processor setting is a config error (exit 2)
    # Never starts the embedded broker: without ULTUDY_REDIS_URL, one must be running.
    redis_url = settings.redis_url or EmbeddedValkey(settings.data_dir).running_elsewhere()
    errors = asyncio.run(_errors(settings, redis_url))
    for name, error in errors.items():
        typer.echo(f"{name}: {error or 'ok'}", err=error is not None)
    if any(errors.values()):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(check)
