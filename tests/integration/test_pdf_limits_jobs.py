"""Hostile PDFs as material uploads: each fails its own job with a message saying which
cap it hit, at once and without retries, while another user's ordinary upload, sent
while the hostile one is being read, completes as if it were alone (async and sync)."""

from __future__ import annotations

import asyncio
import base64
import io
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.fakes.llm_server import FakeLLMServer, Reply, running
from tests.support.backends import Backend
from tests.support.harness import api, eventually, start_worker, stop, wait_for_status
from tests.support.hostile_pdfs import huge_page, pdf_readers, shared_stream, text_page
from tests.unit.test_llm import KEY
from ultudy.processors import REGISTRY

REAL = "ultudy.processors:REGISTRY"
HOSTILE_TIME_LIMIT_S = 15.0
# 2000 pages of 40 k characters, from one 8 KB stream: minutes of CPU, were it not stopped
# (the character cap is lifted so that only the time limit can stop it).
SLOW = {"pdf_time_limit_s": HOSTILE_TIME_LIMIT_S, "pdf_max_chars": 10**9}
ALICE, BOB = {"x-user-id": "alice"}, {"x-user-id": "bob"}
NOTES = text_page("Lecture notes: one ordinary page of course material.")


def pdf_file(name: str, data: bytes) -> dict[str, Any]:
    return {"file": (name, data, "application/pdf")}


async def upload(client: httpx.AsyncClient, name: str, data: bytes, user: dict[str, str]) -> str:
    response = await client.post(
        "/upload/pdf-structured-async", headers=user, files=pdf_file(name, data)
    )
    assert response.status_code == 202, response.text
    job_id: str = response.json()["job_id"]
    return job_id


async def reading_pages(client: httpx.AsyncClient, user: dict[str, str]) -> None:
    """Until the user's upload job is reading its PDF page by page."""

    async def probe() -> list[dict[str, Any]]:
        response = await client.get("/jobs", headers=user)
        items: list[dict[str, Any]] = response.json()["jobs"]
        return items

    await eventually(
        probe,
        lambda items: any(
            (job["progress_message"] or "").startswith("Reading page") for job in items
        ),
        timeout=30,
    )


async def test_a_hostile_pdf_fails_its_own_job_and_stalls_no_other(
    backend: Backend, tmp_path: Path
) -> None:
    settings = backend.settings(processors=REAL, **SLOW)
    async with api(settings, REGISTRY) as (client, _state):
        worker = start_worker(backend.env(processors=REAL, **SLOW), log=tmp_path / "w.log")
        try:
            hostile = await upload(client, "hostile.pdf", shared_stream(2000), ALICE)
            await reading_pages(client, ALICE)
            sent = time.monotonic()
            normal = await upload(client, "notes.pdf", NOTES, BOB)
            done = await wait_for_status(
                client, normal, {"completed", "failed"}, user="bob", timeout=HOSTILE_TIME_LIMIT_S
            )
            normal_s = time.monotonic() - sent
            meanwhile = (await client.get(f"/jobs/{hostile}", headers=ALICE)).json()
            failed = await wait_for_status(
                client,
                hostile,
                {"completed", "failed"},
                user="alice",
                timeout=HOSTILE_TIME_LIMIT_S + 30,
            )
            hostile_s = time.monotonic() - sent
        finally:
            stop(worker)
    assert done["status"] == "completed", done["error_message"]
    assert done["result_data"]["page_count"] == 1
    assert meanwhile["status"] == "processing", f"the normal upload took {normal_s:.1f} s"
    assert normal_s < hostile_s
    assert failed["status"] == "failed"
    assert failed["error_message"].startswith("Reading the PDF took longer than 15 s")
    assert failed["attempts"] == 1


async def test_sync_uploads_a_hostile_pdf_answers_422_and_stalls_no_other(
    backend: Backend,
) -> None:
    settings = backend.settings(processors=REAL, **SLOW)
    async with api(settings, REGISTRY) as (client, _state):
        hostile = asyncio.create_task(
            client.post(
                "/upload/pdf-structured",
                headers=ALICE,
                files=pdf_file("hostile.pdf", shared_stream(2000)),
            ),
            name="hostile upload",
        )
        await reading_pages(client, ALICE)
        sent = time.monotonic()
        normal = await asyncio.wait_for(
            client.post("/upload/pdf-structured", headers=BOB, files=pdf_file("notes.pdf", NOTES)),
            timeout=HOSTILE_TIME_LIMIT_S,
        )
        normal_s = time.monotonic() - sent
        hostile_running = not hostile.done()
        refused = await asyncio.wait_for(hostile, timeout=HOSTILE_TIME_LIMIT_S + 30)
    assert normal.status_code == 200, normal.text
    assert normal.json()["page_count"] == 1
    assert hostile_running, f"the normal upload took {normal_s:.1f} s"
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith("Reading the PDF took longer than 15 s")


async def test_a_stopping_worker_kills_the_reading_of_a_hostile_pdf(
    backend: Backend, tmp_path: Path
) -> None:
    slower = {**SLOW, "pdf_time_limit_s": 120.0}
    settings = backend.settings(processors=REAL, **slower)
    async with api(settings, REGISTRY) as (client, _state):
        worker = start_worker(backend.env(processors=REAL, **slower), log=tmp_path / "w.log")
        try:
            await upload(client, "hostile.pdf", shared_stream(2000), ALICE)
            await reading_pages(client, ALICE)
            readers = pdf_readers(worker.pid)
            assert len(readers) == 1
            stopping = time.monotonic()
            worker.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(worker.wait, 30)
        finally:
            stop(worker)
    # Its grace period, then the job's thread kills the reader (not 120 s later).
    assert code == 0
    assert time.monotonic() - stopping < settings.shutdown_grace_s + 10
    # That reader is gone (not left orphaned); other test runs' readers are not ours to count.
    assert not set(readers) & set(pdf_readers())


async def test_more_pages_than_the_cap_fail_the_job_at_once(backend: Backend) -> None:
    settings = backend.settings(processors=REAL)
    many = shared_stream(2001, lines=1)
    async with api(settings, REGISTRY) as (client, _state):
        sync = await client.post(
            "/upload/pdf-structured", headers=ALICE, files=pdf_file("many.pdf", many)
        )
        jobs = (await client.get("/jobs", headers=ALICE)).json()["jobs"]
    assert sync.status_code == 422
    assert sync.json()["detail"] == (
        "The PDF has more than 2000 pages (2001); split it into smaller files."
    )
    assert (jobs[0]["status"], jobs[0]["attempts"]) == ("failed", 1)
    assert jobs[0]["error_message"] == sync.json()["detail"]


@pytest.fixture
def llm() -> Iterator[FakeLLMServer]:
    with running(api_key=KEY) as server:
        yield server


async def test_a_huge_page_reaches_the_vision_model_scaled_to_the_pixel_cap(
    backend: Backend, llm: FakeLLMServer
) -> None:
    settings = backend.settings(
        processors=REAL,
        llm_provider="openai",
        llm_base_url=f"{llm.url}/v1",
        llm_api_key=KEY,
        llm_model="test-model",
        pdf_max_render_pixels=1000 * 1000,
    )
    llm.script(Reply.content({"text": "A poster, five metres wide."}))
    async with api(settings, REGISTRY) as (client, _state):
        response = await client.post(
            "/upload/pdf-structured", headers=ALICE, files=pdf_file("poster.pdf", huge_page(14_400))
        )
    assert response.status_code == 200, response.text
    assert response.json()["pages_read_by_model"] == [1]
    url = llm.requests[0].body["messages"][1]["content"][1]["image_url"]["url"]
    png = base64.b64decode(url.removeprefix("data:image/png;base64,"))
    with Image.open(io.BytesIO(png)) as image:
        width, height = image.size
    assert (990, 990) <= (width, height) <= (1000, 1000)  # not 28 800 px square
