"""On PostgreSQL, owners are isolated by row-level security as well as by the code: the
app's login (a non-superuser, as every PostgreSQL test runs) sees one owner's rows, with
direct SQL, whatever settings it gives itself; only the system login (the tables' owner)
sees every owner's rows, for the worker, the reconciler and the admin views."""

from __future__ import annotations

import logging
import os
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from tests.support.backends import Backend
from tests.support.cli import assert_config_error, run_cli
from tests.support.harness import api
from ultudy.db import Database
from ultudy.db.models import OWNER_SCOPED_TABLES
from ultudy.db.roles import check_logins
from ultudy.db.study import insert_document
from ultudy.errors import ConfigError
from ultudy.jobs.store import JobStore
from ultudy.kinds import JobType

pytestmark = pytest.mark.only_backends("postgres")
WIDEN = "SELECT set_config('ultudy.scope', 'system', false)"


def superuser_url(backend: Backend) -> str:
    """The test server's admin login (a superuser), on this test's database."""
    name = make_url(backend.database_url).database
    admin = make_url(os.environ["ULTUDY_TEST_DATABASE_URL"]).set(database=name)
    return admin.render_as_string(hide_password=False)


async def two_owners_jobs(db: Database) -> tuple[uuid.UUID, uuid.UUID]:
    store = JobStore(db)
    alice = await store.create(
        owner_id="alice", type=JobType.LESSON_GENERATION, input_data={}, max_attempts=3
    )
    bob = await store.create(
        owner_id="bob", type=JobType.LESSON_GENERATION, input_data={}, max_attempts=3
    )
    return alice.id, bob.id


async def test_the_tests_app_login_is_an_ordinary_role(backend: Backend) -> None:
    db = Database(backend.database_url)
    try:
        async with db.engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT rolsuper, rolbypassrls, row_security_active('jobs') FROM pg_roles"
                        " WHERE rolname = current_user"
                    )
                )
            ).one()
    finally:
        await db.dispose()
    assert tuple(row) == (False, False, True)


async def test_app_login_sees_only_its_owner_rows(backend: Backend) -> None:
    db = backend.database()
    alice_id, bob_id = await two_owners_jobs(db)
    try:
        async with db.transaction("alice") as conn:
            # Direct SQL with no owner filter: the policy alone hides bob's row.
            rows = (await conn.execute(text("SELECT id, owner_id FROM jobs"))).all()
            assert {r.owner_id for r in rows} == {"alice"}
            hit = await conn.execute(
                text("UPDATE jobs SET progress = 50 WHERE id = :id"), {"id": bob_id}
            )
            assert hit.rowcount == 0
        async with db.engine.connect() as conn:
            unscoped = (await conn.execute(text("SELECT count(*) FROM jobs"))).scalar_one()
            assert unscoped == 0
        with pytest.raises(ProgrammingError, match="row-level security"):
            async with db.transaction("alice") as conn:
                await conn.execute(
                    text(
                        "INSERT INTO jobs (id, owner_id, type, status, progress, input_data,"
                        " attempts, max_attempts, created_at, updated_at) VALUES (:id, 'bob',"
                        " 'lesson_generation', 'pending', 0, '{}', 0, 3, now(), now())"
                    ),
                    {"id": uuid.uuid4()},
                )
        store = JobStore(db)
        assert await store.get(bob_id, owner_id="alice") is None
        assert (await store.get(alice_id, owner_id="alice")) is not None
    finally:
        await db.dispose()


async def test_app_login_cannot_widen_its_own_scope(backend: Backend) -> None:
    """The old policies let `ultudy.scope = 'system'` see everyone, and any login may set a
    custom setting: one injected statement lifted the scope. Now no setting widens it."""
    db = backend.database()
    _alice_id, bob_id = await two_owners_jobs(db)
    try:
        async with db.transaction("alice") as conn:
            await conn.execute(text(WIDEN))
            owners = {r.owner_id for r in await conn.execute(text("SELECT owner_id FROM jobs"))}
            hit = await conn.execute(
                text("UPDATE jobs SET progress = 50 WHERE id = :id"), {"id": bob_id}
            )
        assert owners == {"alice"}
        assert hit.rowcount == 0
        async with db.engine.connect() as conn:
            await conn.execute(text(WIDEN))
            assert (await conn.execute(text("SELECT count(*) FROM jobs"))).scalar_one() == 0
    finally:
        await db.dispose()


async def test_system_login_sees_every_owner_for_reconciler_and_admin(backend: Backend) -> None:
    db = backend.database()
    await two_owners_jobs(db)
    store = JobStore(db)
    try:
        stale = await store.unfinished(older_than_s=0)  # what the reconciler reads
        assert {r.owner_id for r in stale} == {"alice", "bob"}
        assert await store.count_by_status() == {"pending": 2}
    finally:
        await db.dispose()
    async with api(backend.settings()) as (client, _state):
        overview = await client.get("/admin/api/overview", headers={"x-user-id": "operator"})
    assert overview.status_code == 200, overview.text
    assert overview.json()["rows"] == {"pending": 2}


@pytest.mark.parametrize("table", OWNER_SCOPED_TABLES)
async def test_every_owner_scoped_table_binds_the_app_but_not_the_owner(
    backend: Backend, table: str
) -> None:
    db = backend.database()
    probe = text(
        "SELECT c.relrowsecurity, row_security_active(c.oid), p.qual FROM pg_class c"
        " JOIN pg_policies p ON p.tablename = c.relname WHERE c.relname = :t"
    )
    try:
        async with db.transaction("alice") as conn:
            enabled, app_bound, qual = (await conn.execute(probe, {"t": table})).one()
        async with db.transaction(None) as conn:
            _, system_bound, _ = (await conn.execute(probe, {"t": table})).one()
    finally:
        await db.dispose()
    assert (enabled, app_bound, system_bound) == (True, True, False)
    assert "ultudy.scope" not in qual


async def test_app_login_cannot_read_another_owners_documents(backend: Backend) -> None:
    db = backend.database()
    try:
        async with db.transaction("bob") as conn:
            await insert_document(
                conn,
                "bob",
                {
                    "title": "Bob's notes",
                    "filename": "b.pdf",
                    "storage_key": "k",
                    "sha256": "",
                    "page_count": 1,
                    "pages_without_text": [],
                },
                [],
            )
        async with db.transaction("alice") as conn:
            await conn.execute(text(WIDEN))
            rows = (await conn.execute(text("SELECT title FROM documents"))).all()
        async with db.transaction(None) as conn:
            everyone = (await conn.execute(text("SELECT title FROM documents"))).all()
    finally:
        await db.dispose()
    assert rows == []
    assert [r.title for r in everyone] == ["Bob's notes"]


async def test_a_system_login_bound_by_the_policy_is_refused(backend: Backend) -> None:
    """One login for everything that is the app's: the worker would see no one's jobs."""
    db = Database(backend.database_url)
    try:
        with pytest.raises(ConfigError, match="ULTUDY_DATABASE_SYSTEM_URL to the tables' owner"):
            await check_logins(db, refuse_unbound=False)
    finally:
        await db.dispose()


@pytest.mark.parametrize("login", ["superuser", "owner"])
async def test_api_warns_loudly_when_its_login_is_not_bound(
    backend: Backend, login: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = superuser_url(backend) if login == "superuser" else backend.system_database_url
    settings = backend.settings(database_url=url, database_system_url=None)
    with caplog.at_level(logging.WARNING, logger="ultudy.db.roles"):
        async with api(settings) as (client, _state):
            assert (await client.get("/jobs", headers={"x-user-id": "alice"})).status_code == 200
    warnings = [r.getMessage() for r in caplog.records if r.name == "ultudy.db.roles"]
    assert len(warnings) == 1
    why = "a superuser" if login == "superuser" else "the tables' owner"
    assert warnings[0].startswith("INSECURE")
    assert why in warnings[0]


def test_token_mode_api_refuses_a_superuser_login_in_one_line(backend: Backend) -> None:
    env = backend.env(
        auth="token",
        secret_key="s" * 64,
        database_url=superuser_url(backend),
        database_system_url=None,
    )
    done = run_cli(["api"], env)
    assert_config_error(done, "ultudy: ULTUDY_AUTH=token refuses to start")
    assert "a superuser" in done.stderr


def test_worker_refuses_a_system_login_the_policy_binds(backend: Backend) -> None:
    done = run_cli(["worker"], backend.env(database_system_url=backend.database_url))
    assert_config_error(done, "ULTUDY_DATABASE_SYSTEM_URL")
