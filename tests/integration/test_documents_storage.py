"""Stored bytes per user and deleting a document: the upload past the quota is a 409 that
keeps nothing; DELETE removes the document's rows (by cascade) and its file, refuses
while a job still works on it, and frees the quota."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from tests.support.backends import Backend
from tests.support.harness import api
from ultudy.api.state import AppState
from ultudy.db.models import (
    check_ins,
    concept_mastery,
    concepts,
    documents,
    lessons,
    questions,
    sections,
)
from ultudy.db.removal import delete_document
from ultudy.jobs.context import JobContext
from ultudy.kinds import JobType
from ultudy.processors import REGISTRY

PDF = Path(__file__).resolve().parents[1] / "data" / "pdfs" / "deb-asymptote-doc__CAD.pdf"
ALICE = {"x-user-id": "alice"}
BOB = {"x-user-id": "bob"}
TABLES = (documents, sections, lessons, concepts, questions, concept_mastery, check_ins)


async def upload(
    client: httpx.AsyncClient,
    *,
    sync: bool,
    headers: dict[str, str] = ALICE,
) -> httpx.Response:
    path = "/upload/pdf-structured" if sync else "/upload/pdf-structured-async"
    files = {"file": ("cad.pdf", PDF.read_bytes(), "application/pdf")}
    return await client.post(path, files=files, headers=headers)


async def rows_of(state: AppState, owner: str) -> dict[str, int]:
    async with state.db.transaction(owner) as conn:
        return {
            t.name: (
                await conn.execute(select(func.count()).select_from(t).where(t.c.owner_id == owner))
            ).scalar_one()
            for t in TABLES
        }


def settings(backend: Backend, **overrides: Any) -> Any:
    return backend.settings(processors="ultudy.processors:REGISTRY", **overrides)


async def test_delete_removes_the_rows_and_the_file_and_waits_for_its_jobs(
    backend: Backend,
) -> None:
    async with api(settings(backend), REGISTRY) as (client, state):
        doc = (await upload(client, sync=True)).json()
        body = {"document_id": doc["document_id"], "section_id": doc["sections"][0]["id"]}
        lesson = (await client.post("/lessons/generate", json=body, headers=ALICE)).json()
        answers = [{"question_id": q["id"], "answer": 0} for q in lesson["questions"]]
        checked = await client.post(
            "/check-ins/submit",
            headers=ALICE,
            json={"lesson_id": lesson["lesson_id"], "answers": answers},
        )
        assert checked.status_code == 200, checked.text
        bobs = (await upload(client, sync=True, headers=BOB)).json()
        before = await rows_of(state, "alice")
        assert all(before.values()), before
        key = (await client.get("/jobs?type=material_upload", headers=ALICE)).json()
        path = state.services.storage.path(key["jobs"][0]["input_data"]["storage_key"])
        assert path.exists()
        url = f"/documents/{doc['document_id']}"
        assert (await client.delete(url, headers=BOB)).status_code == 404
        unknown = "/documents/00000000-0000-0000-0000-000000000000"
        assert (await client.delete(unknown, headers=ALICE)).status_code == 404
        waiting = await state.jobs.submit("alice", JobType.LESSON_GENERATION, body)  # no worker
        busy = await client.delete(url, headers=ALICE)
        assert busy.status_code == 409
        assert "1 unfinished job(s)" in busy.json()["detail"]
        await state.jobs.cancel("alice", waiting.id)
        assert (await client.delete(url, headers=ALICE)).status_code == 204
        assert await rows_of(state, "alice") == dict.fromkeys(before, 0)
        assert not path.exists()
        assert (await client.get(url, headers=ALICE)).status_code == 404
        theirs = await client.get(f"/documents/{bobs['document_id']}", headers=BOB)
        assert theirs.status_code == 200


async def test_an_upload_past_the_quota_is_409_keeps_nothing_and_delete_frees_room(
    backend: Backend,
) -> None:
    size = PDF.stat().st_size  # 159 KiB: six fit in 1 MB, a seventh does not
    async with api(settings(backend, max_stored_mb_per_user=1), REGISTRY) as (client, state):
        store = state.services.storage
        first = (await upload(client, sync=True)).json()
        for _ in range(5):
            assert (await upload(client, sync=False)).status_code == 202
        assert store.used_bytes("alice") == 6 * size
        for sync in (False, True):
            refused = await upload(client, sync=sync)
            assert refused.status_code == 409, refused.text
            assert refused.json()["detail"] == (
                "Your uploads use 1 MB of your 1 MB and this file is 0.2 MB; "
                "delete documents to upload more."
            )
        assert store.used_bytes("alice") == 6 * size  # the refused files are gone
        assert (await upload(client, sync=True, headers=BOB)).status_code == 200
        deleted = await client.delete(f"/documents/{first['document_id']}", headers=ALICE)
        assert deleted.status_code == 204
        assert (await upload(client, sync=False)).status_code == 202


async def test_a_sync_job_whose_section_vanished_meanwhile_is_404(backend: Backend) -> None:
    """The route finds the section; the document is deleted before the processor reads it
    (as a concurrent DELETE would): the processor's NotFoundError answers 404, not 422."""

    async def deleted_first(ctx: JobContext, data: dict[str, Any]) -> dict[str, Any]:
        async with ctx.services.db.transaction(ctx.owner_id) as conn:
            await delete_document(conn, ctx.owner_id, uuid.UUID(data["document_id"]))
        return await REGISTRY[JobType.LESSON_GENERATION](ctx, data)

    registry = {**REGISTRY, JobType.LESSON_GENERATION: deleted_first}
    async with api(settings(backend), registry) as (client, _state):
        doc = (await upload(client, sync=True)).json()
        body = {"document_id": doc["document_id"], "section_id": doc["sections"][0]["id"]}
        answer = await client.post("/lessons/generate", json=body, headers=ALICE)
        assert answer.status_code == 404, answer.text
        assert answer.json() == {"detail": "That section no longer exists."}
        failed = (await client.get("/jobs?type=lesson_generation", headers=ALICE)).json()
        assert [j["status"] for j in failed["jobs"]] == ["failed"]
