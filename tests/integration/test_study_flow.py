"""Issue 4 end to end: real PDFs uploaded, sections found, lessons generated and cached,
check-ins graded and mastery updated, through the async and the sync endpoints."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.backends import Backend
from tests.support.harness import api, run_burst, running_worker, wait_for_status
from ultudy.config import Settings
from ultudy.processors import REGISTRY

PDFS = Path(__file__).resolve().parents[1] / "data" / "pdfs"
ALICE = {"x-user-id": "alice"}
BOB = {"x-user-id": "bob"}


def real(backend: Backend, **overrides: Any) -> Settings:
    return backend.settings(processors="ultudy.processors:REGISTRY", **overrides)


def pdf(name: str) -> bytes:
    return (PDFS / name).read_bytes()


async def upload(
    client: httpx.AsyncClient,
    name: str,
    data: bytes,
    *,
    sync: bool = False,
    headers: dict[str, str] = ALICE,
) -> httpx.Response:
    path = "/upload/pdf-structured" if sync else "/upload/pdf-structured-async"
    return await client.post(path, files={"file": (name, data, "application/pdf")}, headers=headers)


async def upload_and_wait(
    client: httpx.AsyncClient, settings: Settings, name: str
) -> dict[str, Any]:
    response = await upload(client, name, pdf(name))
    assert response.status_code == 202, response.text
    await run_burst(settings, REGISTRY)
    return await wait_for_status(
        client, response.json()["job_id"], {"completed", "failed"}, user="alice"
    )


async def test_upload_async_font_only_pdf_finds_its_sections(backend: Backend) -> None:
    settings = real(backend)
    async with api(settings, REGISTRY) as (client, _state):
        job = await upload_and_wait(client, settings, "deb-asymptote-doc__CAD.pdf")
        assert job["status"] == "completed", job["error_message"]
        result = job["result_data"]
        assert result["page_count"] == 7
        titles = [s["title"] for s in result["sections"]]
        assert len(titles) >= 3
        assert all(1 <= s["page_start"] <= s["page_end"] <= 7 for s in result["sections"])
        assert all(s["char_count"] > 0 for s in result["sections"])
        listed = (await client.get("/documents", headers=ALICE)).json()["documents"]
        assert [d["id"] for d in listed] == [result["document_id"]]
        doc = (await client.get(f"/documents/{result['document_id']}", headers=ALICE)).json()
        assert [s["title"] for s in doc["sections"]] == titles
        assert (
            await client.get(f"/documents/{result['document_id']}", headers=BOB)
        ).status_code == 404


async def test_upload_sync_uses_the_outline(backend: Backend) -> None:
    async with api(real(backend), REGISTRY) as (client, _state):
        response = await upload(client, "R-data.pdf", pdf("deb-r-doc-pdf__R-data.pdf"), sync=True)
        assert response.status_code == 200, response.text
        result = response.json()
        assert result["page_count"] == 41
        titles = [s["title"] for s in result["sections"]]
        assert any("Spreadsheet" in t for t in titles), titles
        jobs = (await client.get("/jobs", headers=ALICE)).json()["jobs"]
        assert jobs[0]["status"] == "completed"
        assert jobs[0]["type"] == "material_upload"


@pytest.mark.parametrize(
    ("name", "data", "code", "fragment"),
    [
        ("notes.pdf", b"just some text, not a pdf at all", 415, "not a PDF"),
        ("empty.pdf", b"", 400, "empty"),
        ("image.pdf", b"\x89PNG\r\n\x1a\n" + b"0" * 100, 415, "not a PDF"),
    ],
)
async def test_bad_uploads_are_refused_and_nothing_is_kept(
    backend: Backend, name: str, data: bytes, code: int, fragment: str
) -> None:
    settings = real(backend)
    async with api(settings, REGISTRY) as (client, _state):
        for sync in (False, True):
            response = await upload(client, name, data, sync=sync)
            assert response.status_code == code, response.text
            assert fragment in response.json()["detail"]
        assert (await client.get("/jobs", headers=ALICE)).json()["jobs"] == []
    uploads = settings.data_dir / "uploads"
    assert not uploads.exists() or not any(p.is_file() for p in uploads.rglob("*"))


async def test_too_large_upload_is_413_and_missing_field_is_400(backend: Backend) -> None:
    settings = real(backend, max_upload_mb=1)
    big = pdf("deb-r-doc-pdf__R-data.pdf") * 4  # 1.2 MB, starts like a PDF
    async with api(settings, REGISTRY) as (client, _state):
        response = await upload(client, "big.pdf", big)
        assert response.status_code == 413
        assert "1 MB" in response.json()["detail"]
        missing = await client.post(
            "/upload/pdf-structured-async", data={"title": "x"}, headers=ALICE
        )
        assert missing.status_code == 400
        assert "'file'" in missing.json()["detail"]
        assert (await client.get("/jobs", headers=ALICE)).json()["jobs"] == []


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("pypi-pypdf__crazyones-encrypted-256.pdf", "password"),
        ("pypi-pikepdf__fuzz-378014596.pdf", ""),
    ],
)
async def test_unreadable_pdfs_fail_at_once_with_a_clear_message(
    backend: Backend, name: str, fragment: str
) -> None:
    settings = real(backend, max_attempts=3)
    async with api(settings, REGISTRY) as (client, _state):
        job = await upload_and_wait(client, settings, name)
    assert job["status"] == "failed"
    assert job["attempts"] == 1
    assert fragment.lower() in job["error_message"].lower()
    assert "Traceback" not in job["error_message"]


async def test_truncated_pdf_fails_with_a_message(backend: Backend) -> None:
    settings = real(backend)
    async with api(settings, REGISTRY) as (client, _state):
        data = pdf("deb-asymptote-doc__CAD.pdf")[:20000]
        response = await upload(client, "cut.pdf", data, sync=True)
    assert response.status_code == 422
    assert "PDF" in response.json()["detail"]


async def test_image_only_page_is_listed_and_the_document_completes(backend: Backend) -> None:
    settings = real(backend)
    async with api(settings, REGISTRY) as (client, _state):
        job = await upload_and_wait(client, settings, "pypi-pikepdf__francais.pdf")
    assert job["status"] == "completed"
    assert job["result_data"]["pages_without_text"] == [1]


async def _first_section(client: httpx.AsyncClient, settings: Settings) -> tuple[str, str]:
    response = await upload(client, "CAD.pdf", pdf("deb-asymptote-doc__CAD.pdf"), sync=True)
    result = response.json()
    best = max(result["sections"], key=lambda s: s["char_count"])
    return result["document_id"], best["id"]


async def test_lesson_async_then_cached_then_check_in_updates_mastery(backend: Backend) -> None:
    settings = real(backend)
    async with api(settings, REGISTRY) as (client, _state):
        document_id, section_id = await _first_section(client, settings)
        body = {"document_id": document_id, "section_id": section_id}
        accepted = await client.post("/lessons/generate-async", json=body, headers=ALICE)
        assert accepted.status_code == 202
        await run_burst(settings, REGISTRY)
        job = await wait_for_status(client, accepted.json()["job_id"], "completed", user="alice")
        lesson = job["result_data"]
        assert lesson["cached"] is False
        assert lesson["summary"]
        assert lesson["concepts"]
        assert lesson["questions"]
        assert all(
            "answer_index" not in q and "reference_answer" not in q for q in lesson["questions"]
        )
        again = (await client.post("/lessons/generate", json=body, headers=ALICE)).json()
        assert again["cached"] is True
        assert again["lesson_id"] == lesson["lesson_id"]
        stored = (await client.get(f"/lessons/{lesson['lesson_id']}", headers=ALICE)).json()
        assert stored["section_id"] == section_id
        mcqs = [q for q in lesson["questions"] if q["type"] == "mcq"]
        assert mcqs, lesson["questions"]
        answers = [{"question_id": q["id"], "answer": 0} for q in mcqs]
        graded = await client.post(
            "/check-ins/submit",
            json={"lesson_id": lesson["lesson_id"], "answers": answers},
            headers=ALICE,
        )
        assert graded.status_code == 200, graded.text
        result = graded.json()
        assert {r["verdict"] for r in result["results"]} <= {"correct", "incorrect"}
        for change in result["mastery"]:
            assert 0 < change["before"] < 1
            assert 0 < change["after"] < 1
        right = [r for r in result["results"] if r["correct"]]
        wrong = [r for r in result["results"] if r["correct"] is False]
        by_concept = {m["concept_id"]: m for m in result["mastery"]}
        for r in right:
            if all(w["concept_id"] != r["concept_id"] for w in wrong):
                assert by_concept[r["concept_id"]]["after"] > by_concept[r["concept_id"]]["before"]
        mastery = (await client.get("/mastery", headers=ALICE)).json()["mastery"]
        assert {m["concept_id"] for m in mastery} >= set(by_concept)
        assert (await client.get("/mastery", headers=BOB)).json()["mastery"] == []


async def test_lesson_and_check_in_input_errors(backend: Backend) -> None:
    settings = real(backend)
    async with api(settings, REGISTRY) as (client, _state):
        document_id, section_id = await _first_section(client, settings)
        unknown = {"document_id": document_id, "section_id": str(uuid.uuid4())}
        assert (
            await client.post("/lessons/generate-async", json=unknown, headers=ALICE)
        ).status_code == 404
        theirs = {"document_id": document_id, "section_id": section_id}
        assert (
            await client.post("/lessons/generate-async", json=theirs, headers=BOB)
        ).status_code == 404
        malformed = await client.post(
            "/lessons/generate-async", json={"document_id": "x"}, headers=ALICE
        )
        assert malformed.status_code == 422
        lesson = (await client.post("/lessons/generate", json=theirs, headers=ALICE)).json()
        empty = await client.post(
            "/check-ins/submit-async",
            json={"lesson_id": lesson["lesson_id"], "answers": []},
            headers=ALICE,
        )
        assert empty.status_code == 422
        assert "empty" in empty.json()["detail"]
        bogus = await client.post(
            "/check-ins/submit-async",
            json={
                "lesson_id": lesson["lesson_id"],
                "answers": [{"question_id": str(uuid.uuid4()), "answer": "x"}],
            },
            headers=ALICE,
        )
        assert bogus.status_code == 422
        assert "unknown question" in bogus.json()["detail"]
        jobs = (await client.get("/jobs?type=check_in_evaluation", headers=ALICE)).json()
        assert jobs["jobs"] == []


async def test_upload_with_prepare_lessons_fans_out_one_lesson_job_per_section(
    backend: Backend,
) -> None:
    """The upload job, when it completes, starts a lesson job for each of the first N
    sections (each waited for the upload); a second run of the upload spawns no more."""
    settings = real(backend)
    async with api(settings, REGISTRY) as (client, state):
        response = await client.post(
            "/upload/pdf-structured-async",
            files={"file": ("cad.pdf", pdf("deb-asymptote-doc__CAD.pdf"), "application/pdf")},
            data={"prepare_lessons": "2"},
            headers=ALICE,
        )
        assert response.status_code == 202, response.text
        upload_id = response.json()["job_id"]
        async with running_worker(settings, REGISTRY):
            job = await wait_for_status(client, upload_id, "completed", user="alice")
            sections = job["result_data"]["sections"][:2]
            lesson_ids = [
                str(uuid.uuid5(uuid.UUID(upload_id), f"lesson:{s['id']}")) for s in sections
            ]
            for lesson_id in lesson_ids:
                done = await wait_for_status(client, lesson_id, "completed", user="alice")
                assert done["type"] == "lesson_generation"
                assert done["result_data"]["lesson_id"]
        listed = (await client.get("/jobs?type=lesson_generation", headers=ALICE)).json()
        assert sorted(j["id"] for j in listed["jobs"]) == sorted(lesson_ids)
        too_many = await client.post(
            "/upload/pdf-structured-async",
            files={"file": ("cad.pdf", pdf("deb-asymptote-doc__CAD.pdf"), "application/pdf")},
            data={"prepare_lessons": "21"},
            headers=ALICE,
        )
        assert too_many.status_code == 422
        # A second run of the upload job (at-least-once delivery) finds its follow-ups.
        record = await state.jobs.get("alice", uuid.UUID(upload_id))
        for n, section in enumerate(sections):
            again = await state.jobs.dependencies.spawn(
                record.id, "alice", "lesson_generation", {}, key=f"lesson:{section['id']}"
            )
            assert str(again) == lesson_ids[n]
        listed = (await client.get("/jobs?type=lesson_generation", headers=ALICE)).json()
        assert len(listed["jobs"]) == 2
