"""Issue 11, finding 2: delivery is at-least-once, so every processor's effects are keyed
by its job. A job run twice, one run after the other or two at once (as two workers
would), leaves one document with one set of sections, one check-in and mastery moved
once, and returns the same result both times; concurrent first generations of one
section's lesson all complete on their first attempt, sharing one lesson."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, create_engine, func, select, text, update

from tests.support.backends import Backend
from tests.support.harness import api, eventually, run_burst, start_worker, stop, wait_for_status
from ultudy.config import Settings
from ultudy.db import Database
from ultudy.db.check_ins import list_mastery
from ultudy.db.migrate import downgrade, upgrade
from ultudy.db.models import check_ins, documents, jobs, lessons, sections
from ultudy.jobs import reconciler as reconciler_module
from ultudy.jobs.context import JobContext, Processor
from ultudy.jobs.reconciler import Reconciler
from ultudy.jobs.store import JobStore
from ultudy.kinds import JobType
from ultudy.processors import REGISTRY
from ultudy.services import StudyServices

PDF = Path(__file__).resolve().parents[1] / "data" / "pdfs" / "deb-asymptote-doc__CAD.pdf"
ALICE = {"x-user-id": "alice"}
CONCURRENT_LESSONS = 20


def real(backend: Backend, **overrides: Any) -> Settings:
    return backend.settings(processors="ultudy.processors:REGISTRY", **overrides)


async def _no_progress(_pct: int, _message: str | None) -> None:
    return None


class Workers:
    """Two processes' worth of processor services: each its own engine and connections."""

    def __init__(self, settings: Settings) -> None:
        self.services = [
            StudyServices.build(
                settings,
                Database(settings.resolved_database_url, settings.resolved_system_database_url),
            )
            for _ in range(2)
        ]

    def run(self, n: int, job_type: JobType, job_id: uuid.UUID, data: dict[str, Any]) -> Any:
        """Worker `n` runs the job's processor (as a redelivery would, row aside)."""
        ctx = JobContext(
            job_id=job_id,
            owner_id="alice",
            type=job_type,
            attempt=1,
            services=self.services[n],
            sink=_no_progress,
        )
        processor: Processor = REGISTRY[job_type]
        return processor(ctx, dict(data))

    async def twice(
        self, job_type: JobType, data: dict[str, Any], *, concurrently: bool
    ) -> tuple[uuid.UUID, list[dict[str, Any]]]:
        job_id = uuid.uuid4()
        if concurrently:
            results = await asyncio.gather(*(self.run(n, job_type, job_id, data) for n in (0, 1)))
        else:
            results = [await self.run(n, job_type, job_id, data) for n in (0, 1)]
        return job_id, list(results)

    async def close(self) -> None:
        for services in self.services:
            await services.db.dispose()


@pytest.fixture
async def app(backend: Backend) -> AsyncIterator[tuple[httpx.AsyncClient, Any, Workers]]:
    settings = real(backend)
    workers = Workers(settings)
    try:
        async with api(settings, REGISTRY) as (client, state):
            yield client, state, workers
    finally:
        await workers.close()


async def count(db: Database, table: Any, *where: Any) -> int:
    async with db.transaction(None) as conn:
        return int(
            (await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one()
        )


async def upload(client: httpx.AsyncClient, *, sync: bool) -> httpx.Response:
    path = "/upload/pdf-structured" if sync else "/upload/pdf-structured-async"
    files = {"file": ("CAD.pdf", PDF.read_bytes(), "application/pdf")}
    response = await client.post(path, headers=ALICE, files=files)
    assert response.status_code == (200 if sync else 202), response.text
    return response


async def upload_input(client: httpx.AsyncClient) -> dict[str, Any]:
    """A stored upload's job input, as the API hands it to its job."""
    response = await upload(client, sync=False)
    job = await client.get(f"/jobs/{response.json()['job_id']}", headers=ALICE)
    return dict(job.json()["input_data"])


@pytest.mark.parametrize("concurrently", [False, True], ids=["one-after-the-other", "at-once"])
async def test_material_upload_run_twice_stores_one_document(
    app: tuple[httpx.AsyncClient, Any, Workers], concurrently: bool
) -> None:
    client, state, workers = app
    data = await upload_input(client)
    job_id, (first, second) = await workers.twice(
        JobType.MATERIAL_UPLOAD, data, concurrently=concurrently
    )
    assert first == second
    assert len(first["sections"]) >= 3
    assert await count(state.db, documents) == 1
    assert await count(state.db, documents, documents.c.job_id == job_id) == 1
    assert await count(state.db, sections) == len(first["sections"])
    uploads = [p for p in (state.settings.data_dir / "uploads").rglob("*") if p.is_file()]
    assert len(uploads) == 1  # the file the API stored; no run wrote another


async def lesson_for_first_section(client: httpx.AsyncClient) -> dict[str, Any]:
    result = (await upload(client, sync=True)).json()
    best = max(result["sections"], key=lambda s: s["char_count"])
    body = {"document_id": result["document_id"], "section_id": best["id"]}
    lesson = await client.post("/lessons/generate", json=body, headers=ALICE)
    assert lesson.status_code == 200, lesson.text
    return dict(lesson.json())


def check_in_input(lesson: dict[str, Any]) -> dict[str, Any]:
    mcqs = [q for q in lesson["questions"] if q["type"] == "mcq"]
    assert mcqs, lesson["questions"]
    return {
        "lesson_id": lesson["lesson_id"],
        "answers": [{"question_id": q["id"], "answer": 0} for q in mcqs],
    }


async def mastery(db: Database) -> dict[str, Any]:
    async with db.transaction("alice") as conn:
        return {str(m.concept_id): m for m in await list_mastery(conn, "alice")}


@pytest.mark.parametrize("concurrently", [False, True], ids=["one-after-the-other", "at-once"])
async def test_check_in_run_twice_records_one_check_in_and_moves_mastery_once(
    app: tuple[httpx.AsyncClient, Any, Workers], concurrently: bool
) -> None:
    client, state, workers = app
    data = check_in_input(await lesson_for_first_section(client))
    before = await mastery(state.db)
    job_id, (first, second) = await workers.twice(
        JobType.CHECK_IN_EVALUATION, data, concurrently=concurrently
    )
    assert first == second
    assert await count(state.db, check_ins) == 1
    assert await count(state.db, check_ins, check_ins.c.job_id == job_id) == 1
    after = await mastery(state.db)
    answered: dict[str, int] = {}
    for row in first["results"]:
        answered[row["concept_id"]] = answered.get(row["concept_id"], 0) + 1
    for change in first["mastery"]:
        concept = change["concept_id"]
        assert change["before"] == round(before[concept].p_known, 4)
        assert round(after[concept].p_known, 4) == change["after"]  # moved once, not twice
        assert after[concept].attempts == before[concept].attempts + answered[concept]


async def test_lesson_generation_run_twice_returns_its_first_result(
    app: tuple[httpx.AsyncClient, Any, Workers],
) -> None:
    client, state, workers = app
    doc = (await upload(client, sync=True)).json()
    data = {"document_id": doc["document_id"], "section_id": doc["sections"][0]["id"]}
    _job_id, (first, again) = await workers.twice(
        JobType.LESSON_GENERATION, data, concurrently=False
    )
    assert first == again
    assert first["cached"] is False  # the job made it, in its first run
    _other, (one, two) = await workers.twice(JobType.LESSON_GENERATION, data, concurrently=True)
    assert one == two
    assert (one["lesson_id"], one["cached"]) == (first["lesson_id"], True)
    assert await count(state.db, lessons) == 1


@pytest.mark.slow
async def test_a_lost_completion_reruns_each_job_and_the_rerun_returns_the_first_result(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's case through the real worker and reconciler: a completion written behind
    and lost runs each job again; nothing is added twice, each job's result is the same."""
    settings = real(backend)
    async with api(settings, REGISTRY) as (client, state):
        lesson = await lesson_for_first_section(client)
        before = await mastery(state.db)
        submitted = [
            await upload(client, sync=False),
            await client.post(
                "/check-ins/submit-async", json=check_in_input(lesson), headers=ALICE
            ),
        ]
        ids = [r.json()["job_id"] for r in submitted]
        await run_burst(settings, REGISTRY)
        first = [await wait_for_status(client, i, "completed", user="alice") for i in ids]
        counts = [await count(state.db, t) for t in (documents, sections, check_ins)]
        moved = await mastery(state.db)
        async with state.db.transaction(None) as conn:  # the completions were lost
            await conn.execute(
                update(jobs)
                .where(jobs.c.id.in_([uuid.UUID(i) for i in ids]))
                .values(status="processing", result_data=None, completed_at=None)
            )
        monkeypatch.setattr(reconciler_module, "BEHIND_SETTLED_S", 0)
        assert await Reconciler(JobStore(state.db), state.queues, state.events).run_once(
            min_age_s=0
        ) == len(ids)
        await run_burst(settings, REGISTRY)
        again = [await wait_for_status(client, i, "completed", user="alice") for i in ids]
        assert [job["attempts"] for job in again] == [2, 2]
        assert [job["result_data"] for job in again] == [job["result_data"] for job in first]
        assert [await count(state.db, t) for t in (documents, sections, check_ins)] == counts
        assert await mastery(state.db) == moved != before


@pytest.mark.slow
async def test_concurrent_first_generations_of_one_section_share_one_lesson(
    backend: Backend, tmp_path: Path
) -> None:
    """Two worker processes, ten lesson jobs at once each, all for one section with no
    lesson yet: every job completes on its first attempt, and one lesson is stored."""
    per_worker = {"concurrency_lesson_generation": CONCURRENT_LESSONS // 2}
    settings = real(backend, **per_worker)
    env = backend.env(processors="ultudy.processors:REGISTRY", **per_worker)
    async with api(settings, REGISTRY) as (client, state):
        doc = (await upload(client, sync=True)).json()
        body = {"document_id": doc["document_id"], "section_id": doc["sections"][0]["id"]}
        logs = [tmp_path / f"w{i}.log" for i in range(2)]
        workers = [start_worker(env, log=log) for log in logs]
        try:
            await eventually(lambda: _started(logs), lambda n: n == 2, timeout=30)
            # Submitted at once, the twenty share one insert and one add to the queue.
            accepted = await asyncio.gather(
                *(
                    client.post("/lessons/generate-async", json=body, headers=ALICE)
                    for _ in range(CONCURRENT_LESSONS)
                )
            )
            ids = [r.json()["job_id"] for r in accepted]
            done = [
                await wait_for_status(client, i, {"completed", "failed"}, user="alice", timeout=60)
                for i in ids
            ]
        finally:
            codes = [stop(w) for w in workers]
        assert codes == [0, 0]
        assert [(j["status"], j["attempts"], j["error_message"]) for j in done] == [
            ("completed", 1, None)
        ] * CONCURRENT_LESSONS
        assert len({j["result_data"]["lesson_id"] for j in done}) == 1
        assert [j["result_data"]["cached"] for j in done].count(False) == 1
        assert await count(state.db, lessons) == 1


async def _started(logs: list[Path]) -> int:
    return sum(log.exists() and "worker started" in log.read_text() for log in logs)


def old_system_scope(conn: Connection, backend: Backend) -> None:
    """At revision 20251116000000 the policies were FORCEd and read `ultudy.scope`."""
    if backend.name == "postgres":
        conn.execute(text("SELECT set_config('ultudy.scope', 'system', true)"))


def test_the_migration_keeps_rows_and_row_level_security(backend: Backend) -> None:
    """Down to the revision before and up again: the columns come and go in place (on
    SQLite a copied `documents` table would cascade away its sections), the policies stay."""
    # Migrations and cross-owner reads log in as the tables' owner (the system login).
    owner_url = backend.system_database_url or backend.database_url
    sync_url = owner_url.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg2")
    downgrade(owner_url, "20251116000000")
    engine = create_engine(sync_url)
    doc_id, section_id = uuid.uuid4().hex, uuid.uuid4().hex
    try:
        with engine.begin() as conn:
            old_system_scope(conn, backend)
            conn.execute(
                text(
                    "INSERT INTO documents (id, owner_id, title, filename, storage_key, sha256,"
                    " page_count, pages_without_text, created_at) VALUES (:id, 'alice', 't', 'f',"
                    " 'k', '', 1, '[]', CURRENT_TIMESTAMP)"
                ),
                {"id": doc_id},
            )
            conn.execute(
                text(
                    "INSERT INTO sections (id, document_id, owner_id, position, title, level,"
                    " page_start, page_end, text, char_count, content_hash) VALUES (:id, :doc,"
                    " 'alice', 0, 's', 1, 1, 1, 'x', 1, 'h')"
                ),
                {"id": section_id, "doc": doc_id},
            )
        upgrade(owner_url)
        downgrade(owner_url, "20251116000000")
        upgrade(owner_url)
        with engine.begin() as conn:
            if backend.name == "postgres":
                policies = (
                    conn.execute(
                        text(
                            "SELECT tablename FROM pg_policies WHERE tablename IN"
                            " ('documents', 'lessons', 'check_ins')"
                        )
                    )
                    .scalars()
                    .all()
                )
                assert sorted(policies) == ["check_ins", "documents", "lessons"]
            assert conn.execute(text("SELECT count(*) FROM sections")).scalar_one() == 1
            assert conn.execute(text("SELECT job_id FROM documents")).scalar_one() is None
    finally:
        engine.dispose()
