"""Lesson generation and free-text grading as jobs, with an LLM provider configured.

A paid LLM API cannot run here, so `tests/fakes/llm_server.py` stands in for it: a real
local HTTP server speaking the OpenAI chat-completions and Gemini APIs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.llm_server import FakeLLMServer, Reply, running
from tests.support.backends import Backend
from tests.support.harness import api, run_burst, wait_for_status
from tests.unit.test_llm import KEY, SECTION, VALID_LESSON
from ultudy.config import Settings
from ultudy.db.study import insert_document
from ultudy.processors import REGISTRY

ALICE = {"x-user-id": "alice"}
SCAN = (
    Path(__file__).resolve().parents[1] / "data" / "pdfs" / "pypi-pikepdf__francais.pdf"
).read_bytes()
GRADE = {"verdict": "correct", "score": 0.9, "feedback": "Right: it reads a character vector."}


@pytest.fixture
def llm() -> Iterator[FakeLLMServer]:
    with running(api_key=KEY) as server:
        yield server


def llm_settings(backend: Backend, server: FakeLLMServer, provider: str) -> Settings:
    base = f"{server.url}/v1" if provider == "openai" else f"{server.url}/v1beta"
    return backend.settings(
        processors="ultudy.processors:REGISTRY",
        llm_provider=provider,
        llm_base_url=base,
        llm_api_key=KEY,
        llm_model="test-model",
    )


async def seed(settings: Settings, state: Any) -> dict[str, str]:
    section_id = uuid.uuid4()
    row = {
        "id": section_id,
        "title": SECTION.title,
        "level": 1,
        "page_start": 1,
        "page_end": 1,
        "text": SECTION.text,
        "char_count": len(SECTION.text),
        "content_hash": "h1",
    }
    doc = {
        "title": "R Data",
        "filename": "r.pdf",
        "storage_key": "k",
        "sha256": "",
        "page_count": 1,
        "pages_without_text": [],
    }
    async with state.db.transaction("alice") as conn:
        doc_id = await insert_document(conn, "alice", doc, [row])
    return {"document_id": str(doc_id), "section_id": str(section_id)}


@pytest.mark.parametrize("provider", ["openai", "gemini"])
async def test_llm_lesson_then_llm_graded_check_in(
    backend: Backend, llm: FakeLLMServer, provider: str
) -> None:
    settings = llm_settings(backend, llm, provider)
    llm.script(Reply.content('{"summary": "cut'), Reply.content(VALID_LESSON), Reply.content(GRADE))
    async with api(settings, REGISTRY) as (client, state):
        body = await seed(settings, state)
        accepted = await client.post("/lessons/generate-async", json=body, headers=ALICE)
        await run_burst(settings, REGISTRY)
        job = await wait_for_status(client, accepted.json()["job_id"], "completed", user="alice")
        lesson = job["result_data"]
        assert lesson["summary"] == VALID_LESSON["summary"]
        stored = (await client.get(f"/lessons/{lesson['lesson_id']}", headers=ALICE)).json()
        assert stored["engine"].endswith("test-model")
        short = next(q for q in lesson["questions"] if q["type"] == "short")
        answers = [{"question_id": short["id"], "answer": "It reads a character vector."}]
        graded = await client.post(
            "/check-ins/submit",
            headers=ALICE,
            json={"lesson_id": lesson["lesson_id"], "answers": answers},
        )
    assert graded.status_code == 200, graded.text
    result = graded.json()["results"][0]
    assert (result["verdict"], result["correct"]) == ("correct", True)
    assert len(llm.requests) == 3  # malformed lesson retried once, then one grading call


async def test_an_llm_that_keeps_answering_garbage_fails_the_job_clearly(
    backend: Backend, llm: FakeLLMServer
) -> None:
    settings = llm_settings(backend, llm, "openai")
    llm.script(Reply.content("not json at all"))
    async with api(settings, REGISTRY) as (client, state):
        body = await seed(settings, state)
        response = await client.post("/lessons/generate", json=body, headers=ALICE)
    assert response.status_code == 422
    assert "language model" in response.json()["detail"]


async def test_an_unreachable_llm_is_retried_by_the_queue_then_fails_with_the_reason(
    backend: Backend, llm: FakeLLMServer
) -> None:
    settings = llm_settings(backend, llm, "openai").model_copy(update={"max_attempts": 2})
    llm.script(Reply.error(503, "overloaded"))
    async with api(settings, REGISTRY) as (client, state):
        body = await seed(settings, state)
        accepted = await client.post("/lessons/generate-async", json=body, headers=ALICE)
        await run_burst(settings, REGISTRY)
        job = await wait_for_status(
            client, accepted.json()["job_id"], "failed", user="alice", timeout=30
        )
    assert job["attempts"] == 2
    assert "could not be reached" in job["error_message"]
    for hint in ("test-model", llm.url, "ULTUDY_", "overloaded"):  # the student reads it
        assert hint not in job["error_message"]
    assert len(llm.requests) == 6  # 3 tries inside each of the 2 job attempts


@pytest.mark.parametrize("provider", ["openai", "gemini"])
async def test_scanned_pages_are_read_by_a_vision_model(
    backend: Backend, llm: FakeLLMServer, provider: str
) -> None:
    settings = llm_settings(backend, llm, provider)
    llm.script(Reply.content({"text": "Le français est une langue romane."}))
    async with api(settings, REGISTRY) as (client, _state):
        response = await client.post(
            "/upload/pdf-structured",
            headers=ALICE,
            files={"file": ("scan.pdf", SCAN, "application/pdf")},
        )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["pages_without_text"] == [1]
    assert result["pages_read_by_model"] == [1]
    assert result["sections"][0]["char_count"] == len("Le français est une langue romane.")
    body = llm.requests[0].body
    if provider == "openai":
        image = body["messages"][1]["content"][1]["image_url"]["url"]
        assert image.startswith("data:image/png;base64,")
    else:
        assert body["contents"][0]["parts"][1]["inline_data"]["mime_type"] == "image/png"


async def test_without_a_model_scanned_pages_are_only_listed(backend: Backend) -> None:
    settings = backend.settings(processors="ultudy.processors:REGISTRY")
    async with api(settings, REGISTRY) as (client, _state):
        response = await client.post(
            "/upload/pdf-structured",
            headers=ALICE,
            files={"file": ("scan.pdf", SCAN, "application/pdf")},
        )
    result = response.json()
    assert (result["pages_without_text"], result["pages_read_by_model"]) == ([1], [])


async def test_sync_endpoint_answers_503_when_the_llm_is_unreachable(
    backend: Backend, llm: FakeLLMServer
) -> None:
    settings = llm_settings(backend, llm, "openai")
    llm.script(Reply.error(503, "overloaded"))
    async with api(settings, REGISTRY) as (client, state):
        body = await seed(settings, state)
        response = await client.post("/lessons/generate", json=body, headers=ALICE)
        assert response.status_code == 503
        assert "could not be reached" in response.json()["detail"]
        job = (await client.get("/jobs?type=lesson_generation", headers=ALICE)).json()["jobs"][0]
    assert job["status"] == "failed"
