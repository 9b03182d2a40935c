"""The two backends every integration test runs on: SQLite + embedded Valkey, and
PostgreSQL + Redis (when ULTUDY_TEST_DATABASE_URL / ULTUDY_TEST_REDIS_URL are set)."""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ultudy.config import Settings
from ultudy.db import Database
from ultudy.db.migrate import upgrade

TEST_PROCESSORS = "tests.support.processors:REGISTRY"
# One template per test run, so that two runs on one server (two checkouts) never collide.
PG_TEMPLATE = f"ultudy_test_template_{os.getpid()}"
# The logins tests use, as in the README's recipe: the tables' owner (migrations and
# cross-owner work) and the app, bound by row-level security. Roles belong to the whole
# server, so concurrent runs share them: created if missing, never dropped.
PG_OWNER_ROLE = "ultudy_test_owner"
PG_APP_ROLE = "ultudy_test_app"


def backend_names() -> list[str]:
    """sqlite always, postgres when configured; ULTUDY_TEST_BACKENDS narrows the list."""
    chosen = os.environ.get("ULTUDY_TEST_BACKENDS")
    if chosen:
        names = [n.strip() for n in chosen.split(",") if n.strip()]
        if "postgres" in names and not os.environ.get("ULTUDY_TEST_DATABASE_URL"):
            raise RuntimeError("ULTUDY_TEST_BACKENDS=postgres needs ULTUDY_TEST_DATABASE_URL")
        return names
    names = ["sqlite"]
    if os.environ.get("ULTUDY_TEST_DATABASE_URL"):
        names.append("postgres")
    return names


@dataclass
class Backend:
    name: str
    database_url: str
    redis_url: str
    data_dir: Path
    system_database_url: str | None = None
    prefix: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:12]}")

    def database(self) -> Database:
        """The app's Database: the app login, and the system login for cross-owner work."""
        return Database(self.database_url, self.system_database_url)

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": self.database_url,
            "database_system_url": self.system_database_url,
            "redis_url": self.redis_url,
            "redis_prefix": self.prefix,
            "data_dir": self.data_dir,
            "auth": "dev",
            "processors": TEST_PROCESSORS,
            "backoff_ms": 50,
            "progress_interval_ms": 0,
            "reconcile_min_age_s": 0,
            "reconcile_interval_s": 0.5,
            "shutdown_grace_s": 5,
        }
        values.update(overrides)
        return Settings(**values)

    def env(self, **overrides: Any) -> dict[str, str]:
        """Environment for a subprocess (`python -m ultudy worker`) on this backend."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("ULTUDY_")}
        for key, value in self.settings(**overrides).model_dump(exclude_none=True).items():
            env[f"ULTUDY_{key.upper()}"] = str(value)
        return env


def sqlite_template(tmp_root: Path) -> Path:
    path = tmp_root / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


def sqlite_database(template: Path, target_dir: Path) -> str:
    target = target_dir / "ultudy.db"
    shutil.copyfile(template, target)
    return f"sqlite+aiosqlite:///{target}"


def admin_engine(url: str) -> Any:
    sync_url = make_url(url).set(drivername="postgresql+psycopg2")
    return create_engine(sync_url, isolation_level="AUTOCOMMIT")


def pg_login_url(url: str, role: str, database: str) -> str:
    return (
        make_url(url)
        .set(username=role, password=None, database=database)
        .render_as_string(hide_password=False)
    )


def _create_role(conn: Any, role: str) -> None:
    # A concurrent run may create it between a check and the CREATE: both errors mean "it is there".
    conn.execute(
        text(
            f"DO $$ BEGIN CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS;"
            " EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        )
    )


def pg_template(url: str) -> None:
    """A migrated template database, made once per test session: owned and migrated by the
    owner login, its tables granted to the app login."""
    engine = admin_engine(url)
    with engine.connect() as conn:
        for role in (PG_OWNER_ROLE, PG_APP_ROLE):
            _create_role(conn, role)
        conn.execute(text(f"DROP DATABASE IF EXISTS {PG_TEMPLATE} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {PG_TEMPLATE} OWNER {PG_OWNER_ROLE}"))
    engine.dispose()
    owner_url = pg_login_url(url, PG_OWNER_ROLE, PG_TEMPLATE)
    engine = admin_engine(owner_url)
    with engine.connect() as conn:  # the README's grant, before the tables exist
        conn.execute(
            text(
                "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT,"
                f" UPDATE, DELETE ON TABLES TO {PG_APP_ROLE}"
            )
        )
    engine.dispose()
    upgrade(owner_url)


def pg_template_drop(url: str) -> None:
    engine = admin_engine(url)
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {PG_TEMPLATE} WITH (FORCE)"))
    engine.dispose()


def pg_create_database(url: str, *, template: str = PG_TEMPLATE) -> str:
    """A new database owned by the owner login, a copy of `template`; returns its name."""
    name = f"ultudy_t_{uuid.uuid4().hex[:12]}"
    engine = admin_engine(url)
    with engine.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {template} OWNER {PG_OWNER_ROLE}"))
    engine.dispose()
    return name


def pg_database(url: str) -> tuple[str, str]:
    """A fresh copy of the template: (the app login's URL, the owner login's URL)."""
    name = pg_create_database(url)
    return pg_login_url(url, PG_APP_ROLE, name), pg_login_url(url, PG_OWNER_ROLE, name)


def pg_drop(url: str, database_url: str) -> None:
    name = make_url(database_url).database
    engine = admin_engine(url)
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    engine.dispose()
