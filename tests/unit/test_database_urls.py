"""The database URL forms Settings accepts, and the one-line reasons it refuses others."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ultudy.config import Settings

ASYNC = "postgresql+asyncpg://app:pw@db.example.com:5432/ultudy"


@pytest.mark.parametrize(
    "given",
    [
        "postgres://app:pw@db.example.com:5432/ultudy",
        "postgresql://app:pw@db.example.com:5432/ultudy",
        "postgresql+psycopg2://app:pw@db.example.com:5432/ultudy",
        "postgresql+psycopg://app:pw@db.example.com:5432/ultudy",
        ASYNC,
    ],
)
def test_postgres_url_forms_become_the_async_driver(given: str) -> None:
    settings = Settings(database_url=given, database_system_url=given)
    assert settings.database_url == ASYNC
    assert settings.resolved_system_database_url == ASYNC


def test_sslmode_becomes_asyncpgs_ssl() -> None:
    settings = Settings(database_url="postgres://a:b@h/d?sslmode=require")
    assert settings.resolved_database_url == "postgresql+asyncpg://a:b@h/d?ssl=require"


def test_system_url_defaults_to_the_app_url() -> None:
    settings = Settings(database_url="postgres://a@h/d")
    assert settings.resolved_system_database_url == "postgresql+asyncpg://a@h/d"


def test_sqlite_urls_get_the_async_driver() -> None:
    assert Settings(database_url="sqlite:///x/y.db").database_url == "sqlite+aiosqlite:///x/y.db"


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("not a url", "is not a database URL"),
        ("mysql://a:secret@h/d", "'mysql' is not supported"),
        ("postgres://a:secret@h/d?sslmode=sometimes", "sslmode/ssl='sometimes' is not one of"),
        ("postgres://a:secret@h/d?channel_binding=require", "channel_binding not supported"),
    ],
)
def test_unusable_urls_are_refused_without_echoing_the_password(given: str, reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(database_url=given)
    (error,) = caught.value.errors(include_input=False)
    assert error["loc"] == ("database_url",)
    assert reason in error["msg"]
    assert "secret" not in error["msg"]
