"""Every `ultudy` command answers a configuration error with one line on stderr and exit
code 2 (no traceback); the URL forms hosting platforms hand out just work."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from tests.support import backends
from tests.support.backends import Backend
from tests.support.cli import assert_config_error, run_cli
from ultudy.db.migrate import alembic_config


def clean_env(data_dir: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ULTUDY_")}
    env["ULTUDY_DATA_DIR"] = str(data_dir)
    env.update({f"ULTUDY_{k.upper()}": v for k, v in settings.items()})
    return env


@pytest.mark.parametrize(
    ("args", "settings", "says"),
    [
        (["api"], {"port": "abc"}, "ULTUDY_PORT: Input should be a valid integer"),
        (["migrate"], {"database_url": "nonsense"}, "ULTUDY_DATABASE_URL: is not a database URL"),
        (
            ["migrate"],
            {"database_url": "postgres://u:hunter2@127.0.0.1/d?sslmode=sometimes"},
            "ULTUDY_DATABASE_URL: sslmode/ssl='sometimes'",
        ),
        (
            ["migrate"],
            {"database_system_url": "mysql://u@h/d"},
            "ULTUDY_DATABASE_SYSTEM_URL: database 'mysql' is not supported",
        ),
        (["worker", "--queues", "nosuch"], {}, "unknown queue(s) ['nosuch']"),
        (["worker", "--burst"], {"processors": "no.such.module:REGISTRY"}, "ULTUDY_PROCESSORS"),
        (["jobs", "list"], {"auth": "token"}, "ULTUDY_AUTH=token needs ULTUDY_SECRET_KEY"),
        (["run"], {"host": "0.0.0.0"}, "only binds to loopback"),
        (["token", "create", "bob"], {}, "set ULTUDY_SECRET_KEY"),
        (["embedded-broker"], {"log_level": "loud"}, "ULTUDY_LOG_LEVEL: is not a logging level"),
        (["check"], {"log_format": "xml"}, "ULTUDY_LOG_FORMAT: Input should be 'text' or 'json'"),
        (
            ["worker", "--burst"],
            {"metrics_host": "203.0.113.9", "metrics_port": "0"},
            "cannot serve metrics on 203.0.113.9:0",
        ),
    ],
)
def test_a_configuration_error_is_one_line_and_exit_code_2(
    tmp_path: Path, args: list[str], settings: dict[str, str], says: str
) -> None:
    done = run_cli(args, clean_env(tmp_path, **settings))
    assert_config_error(done, says)
    assert "hunter2" not in done.stderr


@pytest.fixture
def empty_pg_database(backend: Backend) -> Iterator[str]:
    """The owner login's URL of a database with no tables (the template made the roles)."""
    admin_url = os.environ["ULTUDY_TEST_DATABASE_URL"]
    name = backends.pg_create_database(admin_url, template="template0")
    url = backends.pg_login_url(admin_url, backends.PG_OWNER_ROLE, name)
    try:
        yield url
    finally:
        backends.pg_drop(admin_url, url)


def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config("")).get_heads()
    assert len(heads) == 1
    return heads[0]


@pytest.mark.only_backends("postgres")
@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_migrate_takes_a_plain_libpq_url(
    empty_pg_database: str, scheme: str, tmp_path: Path
) -> None:
    plain = empty_pg_database.replace("postgresql+asyncpg://", f"{scheme}://", 1)
    done = run_cli(["migrate"], clean_env(tmp_path, database_url=plain + "?sslmode=disable"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "database is up to date"
    engine = backends.admin_engine(empty_pg_database)
    with engine.connect() as conn:
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    engine.dispose()
    assert version == head_revision()
