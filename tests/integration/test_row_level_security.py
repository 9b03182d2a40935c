"""On PostgreSQL, owners are isolated by FORCE row-level security as well as by the code:
checked as a non-superuser application role, with direct SQL."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from tests.support.backends import Backend
from ultudy.db import Database
from ultudy.db.models import OWNER_SCOPED_TABLES
from ultudy.db.study import insert_document
from ultudy.jobs.states import JobType
from ultudy.jobs.store import JobStore

APP_ROLE = "ultudy_app_test"
pytestmark = pytest.mark.only_backends("postgres")


@pytest.fixture
def app_role_url(backend: Backend) -> str:
    admin = create_engine(
        make_url(backend.database_url).set(drivername="postgresql+psycopg2"),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": APP_ROLE})
        if not exists.first():
            conn.execute(text(f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS"))
        conn.execute(
            text(
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}"
            )
        )
        is_super = conn.execute(
            text("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = :r"),
            {"r": APP_ROLE},
        ).scalar_one()
        assert is_super is False
    admin.dispose()
    return (
        make_url(backend.database_url).set(username=APP_ROLE).render_as_string(hide_password=False)
    )


async def test_app_role_sees_only_its_owner_rows(backend: Backend, app_role_url: str) -> None:
    system = JobStore(Database(backend.database_url))
    alice_job = await system.create(owner_id="alice", type=JobType.LESSON_GENERATION,
                                    input_data={}, max_attempts=3)  # fmt: skip
    bob_job = await system.create(owner_id="bob", type=JobType.LESSON_GENERATION,
                                  input_data={}, max_attempts=3)  # fmt: skip
    db = Database(app_role_url)
    try:
        async with db.transaction("alice") as conn:
            # Direct SQL with no owner filter: the policy alone hides bob's row.
            rows = (await conn.execute(text("SELECT id, owner_id FROM jobs"))).all()
            assert {r.owner_id for r in rows} == {"alice"}
            hit = await conn.execute(
                text("UPDATE jobs SET progress = 50 WHERE id = :id"), {"id": bob_job.id}
            )
            assert hit.rowcount == 0
        async with db.engine.connect() as conn:
            unscoped = (await conn.execute(text("SELECT count(*) FROM jobs"))).scalar_one()
            assert unscoped == 0
        with pytest.raises(ProgrammingError, match="row-level security"):
            async with db.transaction("alice") as conn:
                await conn.execute(
                    text("INSERT INTO jobs (id, owner_id, type, status, progress, input_data,"
                         " attempts, max_attempts, created_at, updated_at) VALUES (:id, 'bob',"
                         " 'lesson_generation', 'pending', 0, '{}', 0, 3, now(), now())"),
                    {"id": uuid.uuid4()},
                )  # fmt: skip
        store = JobStore(db)
        assert await store.get(bob_job.id, owner_id="alice") is None
        assert (await store.get(alice_job.id, owner_id="alice")) is not None
    finally:
        await db.dispose()
        await system.db.dispose()


@pytest.mark.parametrize("table", OWNER_SCOPED_TABLES)
async def test_every_owner_scoped_table_forces_its_policy(
    backend: Backend, app_role_url: str, table: str
) -> None:
    db = Database(backend.database_url)
    try:
        async with db.engine.connect() as conn:
            forced = await conn.execute(
                text("SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = :t"),
                {"t": table},
            )
            assert tuple(forced.one()) == (True, True)
    finally:
        await db.dispose()


async def test_app_role_cannot_read_another_owners_documents(
    backend: Backend, app_role_url: str
) -> None:
    system = Database(backend.database_url)
    async with system.transaction(None) as conn:
        await insert_document(conn, "bob", {"title": "Bob's notes", "filename": "b.pdf",
                                            "storage_key": "k", "sha256": "", "page_count": 1,
                                            "pages_without_text": []}, [])  # fmt: skip
    await system.dispose()
    db = Database(app_role_url)
    try:
        async with db.transaction("alice") as conn:
            rows = (await conn.execute(text("SELECT title FROM documents"))).all()
        async with db.transaction("bob") as conn:
            bobs = (await conn.execute(text("SELECT title FROM documents"))).all()
    finally:
        await db.dispose()
    assert rows == []
    assert [r.title for r in bobs] == ["Bob's notes"]
