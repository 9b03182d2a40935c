"""Database URLs as people have them, made into the async URLs the engine needs.

Hosting platforms hand out `postgres://` or `postgresql://` URLs (libpq's forms), often
with `?sslmode=require`. SQLAlchemy reads a bare `postgresql://` as psycopg2, which this
package does not use, and passes query parameters to asyncpg as keyword arguments, so a
libpq-only one would fail at the first connection. Both are settled here, once, when the
settings are read.
"""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

POSTGRES_ASYNC_DRIVER = "postgresql+asyncpg"
SQLITE_ASYNC_DRIVER = "sqlite+aiosqlite"
DRIVERS = {
    "postgres": POSTGRES_ASYNC_DRIVER,
    "postgresql": POSTGRES_ASYNC_DRIVER,
    "postgresql+asyncpg": POSTGRES_ASYNC_DRIVER,
    "postgresql+psycopg": POSTGRES_ASYNC_DRIVER,
    "postgresql+psycopg2": POSTGRES_ASYNC_DRIVER,
    "sqlite": SQLITE_ASYNC_DRIVER,
    "sqlite+pysqlite": SQLITE_ASYNC_DRIVER,
    "sqlite+aiosqlite": SQLITE_ASYNC_DRIVER,
}
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
# Query parameters asyncpg takes as they are (strings), plus SQLAlchemy's own.
ASYNCPG_PARAMETERS = frozenset(
    {
        "ssl",
        "target_session_attrs",
        "passfile",
        "krbsrvname",
        "gsslib",
        "prepared_statement_cache_size",
    }
)


def normalize_database_url(raw: str) -> str:
    """`raw` as an async SQLAlchemy URL; ValueError (without the password) if it is not one
    this package can use."""
    try:
        url = make_url(raw.strip())
    except ArgumentError:
        raise ValueError(
            "is not a database URL; expected postgresql://user:password@host:5432/name "
            "or sqlite:///path/to/file.db"
        ) from None
    driver = DRIVERS.get(url.drivername)
    if driver is None:
        raise ValueError(
            f"database {url.drivername!r} is not supported; use postgresql:// or sqlite:///"
        )
    url = url.set(drivername=driver)
    if driver == POSTGRES_ASYNC_DRIVER:
        url = _asyncpg_query(url)
    return url.render_as_string(hide_password=False)


def _asyncpg_query(url: URL) -> URL:
    query = dict(url.query)
    if "sslmode" in query:
        query.setdefault("ssl", query.pop("sslmode"))
    ssl = query.get("ssl")
    if ssl is not None and ssl not in SSL_MODES:
        raise ValueError(f"sslmode/ssl={ssl!r} is not one of {', '.join(SSL_MODES)}")
    unknown = sorted(set(query) - ASYNCPG_PARAMETERS)
    if unknown:
        raise ValueError(
            f"query parameter(s) {', '.join(unknown)} not supported by the asyncpg driver; "
            f"supported: sslmode, {', '.join(sorted(ASYNCPG_PARAMETERS))}"
        )
    return url.set(query=query)
