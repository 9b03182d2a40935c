"""Real-service fixtures: every test that takes `backend` runs on each configured backend."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from tests.support import backends
from tests.support.backends import Backend
from ultudy.embedded import EmbeddedValkey

UNAVAILABLE = "unavailable"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" not in metafunc.fixturenames:
        return
    names = backends.backend_names()
    marker = metafunc.definition.get_closest_marker("only_backends")
    if marker is not None:
        names = [n for n in names if n in marker.args] or [UNAVAILABLE]
    metafunc.parametrize("backend", names, indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test for a backend this run does not have is reported as skipped, with the reason
    (not run, not "passed", and not silently left out of the count either)."""
    have = ", ".join(backends.backend_names())
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None or callspec.params.get("backend") != UNAVAILABLE:
            continue
        marker = item.get_closest_marker("only_backends")
        wanted = ", ".join(marker.args) if marker else "?"
        item.add_marker(pytest.mark.skip(reason=f"runs only on {wanted}; this run has {have}"))


@pytest.fixture(scope="session")
def embedded_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = EmbeddedValkey(tmp_path_factory.mktemp("valkey"))
    yield server.start()
    server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return backends.sqlite_template(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    url = os.environ["ULTUDY_TEST_DATABASE_URL"]
    backends.pg_template(url)
    yield url
    backends.pg_template_drop(url)


@pytest.fixture
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        url = backends.sqlite_database(template, tmp_path)
        yield Backend("sqlite", url, request.getfixturevalue("embedded_redis_url"), tmp_path)
        return
    admin_url = request.getfixturevalue("pg_template")
    url, system_url = backends.pg_database(admin_url)
    redis_url = os.environ.get("ULTUDY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        yield Backend("postgres", url, redis_url, tmp_path, system_database_url=system_url)
    finally:
        backends.pg_drop(admin_url, url)


@pytest.fixture
def redis_client(backend: Backend) -> Iterator[Redis]:
    client = Redis.from_url(backend.redis_url, decode_responses=True)
    yield client
    keys = list(client.scan_iter(f"{backend.prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()
