"""Start-up check of the PostgreSQL logins against row-level security.

The app's login (ULTUDY_DATABASE_URL) must be bound by the owner policies, or they protect
nothing; the system login (ULTUDY_DATABASE_SYSTEM_URL, by default the same) must not be,
or the worker's writes, the reconciler and the admin views see no one's rows. PostgreSQL
binds every login except superusers, BYPASSRLS roles and the tables' owner.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from ultudy.db.engine import Database
from ultudy.errors import ConfigError

logger = logging.getLogger(__name__)

RECIPE = "see the README, Operations: PostgreSQL logins"
# `bound` is NULL before the first migration: then there is nothing to check yet.
PROBE_SQL = text(
    "SELECT current_user AS name, r.rolsuper AS superuser, r.rolbypassrls AS bypassrls,"
    " CASE WHEN to_regclass('jobs') IS NULL THEN NULL"
    " ELSE row_security_active('jobs') END AS bound"
    " FROM pg_roles AS r WHERE r.rolname = current_user"
)


@dataclass(frozen=True)
class Login:
    name: str
    superuser: bool
    bypassrls: bool
    bound: bool | None

    @property
    def why_unbound(self) -> str:
        if self.superuser:
            return "a superuser"
        return "a BYPASSRLS role" if self.bypassrls else "the tables' owner"


async def probe(engine: AsyncEngine) -> Login:
    async with engine.connect() as conn:
        row = (await conn.execute(PROBE_SQL)).one()
    return Login(row.name, row.superuser, row.bypassrls, row.bound)


async def check_logins(db: Database, *, refuse_unbound: bool) -> list[str]:
    """Raise ConfigError for a configuration that cannot work, or (with `refuse_unbound`)
    one the owner policies do not protect; return the warnings to log otherwise."""
    if not db.is_postgres:
        return []
    try:
        app = await probe(db.engine)
        system = app if db.system_engine is db.engine else await probe(db.system_engine)
    except (OSError, DBAPIError) as exc:
        # A database that is down at start is the outage path's business, not a refusal.
        return [f"could not check the database logins against row-level security: {exc}"]
    if system.bound:
        separate = db.system_engine is not db.engine
        raise ConfigError(
            f"the database login {system.name!r} of "
            f"{'ULTUDY_DATABASE_SYSTEM_URL' if separate else 'ULTUDY_DATABASE_URL'} is bound by "
            "row-level security, so the worker and admin views would see no one's jobs; "
            "set ULTUDY_DATABASE_SYSTEM_URL to the tables' owner (the login that ran "
            f"`ultudy migrate`); {RECIPE}"
        )
    if app.bound is not False:
        return []
    message = (
        f"INSECURE: the database login {app.name!r} of ULTUDY_DATABASE_URL is "
        f"{app.why_unbound}, which row-level security does not bind: one query bug shows "
        f"every owner's rows; give the app a login of its own ({RECIPE})"
    )
    if refuse_unbound:
        raise ConfigError(f"ULTUDY_AUTH=token refuses to start: {message}")
    return [message]


async def log_login_warnings(db: Database, *, refuse_unbound: bool) -> None:
    for warning in await check_logins(db, refuse_unbound=refuse_unbound):
        logger.warning("%s", warning)


async def check_urls(url: str, system_url: str, *, refuse_unbound: bool) -> None:
    """`check_logins` on a Database of its own, for a command's checks before it starts."""
    db = Database(url, system_url)
    try:
        await check_logins(db, refuse_unbound=refuse_unbound)
    finally:
        await db.dispose()
