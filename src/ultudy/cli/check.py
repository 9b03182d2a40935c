"""`ultudy check`: can this host run a worker? Exit 0 when the settings load, the
processors import, the database and the broker answer and the schema is at this code's
migration head; 1 (one line each) when not."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import typer

from ultudy.cli.common import load_settings
from ultudy.config import Settings
from ultudy.probe import probe

if TYPE_CHECKING:
    from ultudy.db.engine import Database


async def _database_error(settings: Settings) -> str | None:
    from ultudy.db.engine import Database

    url = settings.resolved_system_database_url  # the worker's login
    missing = _missing_sqlite_file(url)
    if missing:  # connecting would create an empty file and call it fine
        return f"no database file at {missing}; `ultudy migrate` creates it"
    database = Database(url)
    try:
        return (await probe(database.ping())).error or await _schema_error(database, url)
    finally:
        await database.dispose()


def _missing_sqlite_file(url: str) -> str | None:
    from pathlib import Path

    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = parsed.database or ""
    if (
        parsed.get_backend_name() != "sqlite"
        or name in ("", ":memory:")
        or name.startswith("file:")
    ):
        return None
    return None if Path(name).exists() else name


async def _schema_error(database: Database, url: str) -> str | None:
    """The schema's revision against the code's: a worker on an older schema fails."""
    logging.getLogger("alembic").setLevel(logging.WARNING)  # no plugin set-up lines
    from alembic.script import ScriptDirectory
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from ultudy.db.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    try:
        async with database.engine.connect() as conn:
            rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
            current = rows.scalar()
    except DBAPIError:  # no table: never migrated
        current = None
    if current == head:
        return None
    return f"schema at revision {current or 'none'}, this code needs {head}; run `ultudy migrate`"


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
    """Exit 0 if this host can run a worker (settings, processors, database and its
    schema, broker)."""
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
