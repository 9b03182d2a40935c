"""The evening check-in reminder, end to end: a user answers a check-in wrong, a schedule
ticks, its `check_in_reminder` job finds the concepts whose mastery dropped, and the email
naming them lands in the outbox (no SMTP server configured)."""

from __future__ import annotations

import asyncio
import uuid
from email import policy
from email.parser import BytesParser
from typing import Any

from sqlalchemy import select

from tests.integration.test_study_flow import pdf, upload
from tests.support.backends import Backend
from tests.support.harness import api, eventually, worker_process
from ultudy.db.models import questions
from ultudy.processors import REGISTRY
from ultudy.processors.check_in_reminder import dropped

ALICE = {"x-user-id": "alice"}


def test_dropped_compares_the_first_before_with_the_last_after() -> None:
    moves = [
        {"concept_id": "a", "name": "A", "before": 0.5, "after": 0.3},
        {"concept_id": "b", "name": "B", "before": 0.5, "after": 0.7},
        {"concept_id": "a", "name": "A", "before": 0.3, "after": 0.45},
        {"concept_id": "c", "name": "C", "before": 0.6, "after": 0.2},
        {"concept_id": "b", "name": "B", "before": 0.7, "after": 0.5},
    ]
    assert [(c["id"], c["before"], c["after"]) for c in dropped(moves)] == [
        ("c", 0.6, 0.2),
        ("a", 0.5, 0.45),
    ]


async def _wrong_check_in(client: Any, state: Any) -> set[str]:
    """A lesson's MCQs all answered wrong (the key read from the database); the names of
    the concepts whose mastery dropped."""
    result = (await upload(client, "CAD.pdf", pdf("deb-asymptote-doc__CAD.pdf"), sync=True)).json()
    section = max(result["sections"], key=lambda s: s["char_count"])
    body = {"document_id": result["document_id"], "section_id": section["id"]}
    lesson = (await client.post("/lessons/generate", json=body, headers=ALICE)).json()
    ids = [uuid.UUID(q["id"]) for q in lesson["questions"] if q["type"] == "mcq"]
    async with state.db.transaction("alice") as conn:
        keys = dict(
            (
                await conn.execute(
                    select(questions.c.id, questions.c.answer_index).where(questions.c.id.in_(ids))
                )
            ).all()
        )
    answers = [{"question_id": str(q), "answer": (keys[q] + 1) % 2} for q in ids]
    graded = await client.post(
        "/check-ins/submit",
        json={"lesson_id": lesson["lesson_id"], "answers": answers},
        headers=ALICE,
    )
    assert graded.status_code == 200, graded.text
    return {m["name"] for m in graded.json()["mastery"] if m["after"] < m["before"]}


async def test_a_scheduled_reminder_emails_the_concepts_whose_mastery_dropped(
    backend: Backend,
) -> None:
    settings = backend.settings(
        processors="ultudy.processors:REGISTRY",
        schedule_poll_s=0.05,
        schedule_min_interval_s=1,
        notify_digest_s=0.2,
    )
    async with api(settings, REGISTRY) as (client, state):
        names = await _wrong_check_in(client, state)
        assert names
        await client.put(
            "/me/notifications",
            json={"email": "alice@example.org", "enabled": True},
            headers=ALICE,
        )
        made = await client.post(
            "/schedules",
            json={"name": "reminder", "job_type": "check_in_reminder", "interval_s": 1},
            headers=ALICE,
        )
        assert made.status_code == 201, made.text
        outbox = backend.data_dir / "outbox"
        async with worker_process(settings, REGISTRY) as worker:
            task = asyncio.create_task(worker.run())
            try:
                mails = await eventually(
                    lambda: asyncio.sleep(0, sorted(outbox.glob("*.eml"))),
                    lambda found: len(found) >= 1,
                    timeout=30,
                )
                await client.post(f"/schedules/{made.json()['id']}/pause", headers=ALICE)
            finally:
                worker.stop_event.set()
                await asyncio.wait_for(task, 30)
        reminders = (await client.get("/jobs?type=check_in_reminder", headers=ALICE)).json()
    first = reminders["jobs"][-1]
    assert first["status"] == "completed"
    assert {c["name"] for c in first["result_data"]["concepts"]} == names
    message = BytesParser(policy=policy.default).parsebytes(mails[0].read_bytes())
    assert message["To"] == "alice@example.org"
    text = message.get_body(preferencelist=("plain",))
    assert text is not None
    assert "Your check-in reminder is ready." in text.get_content()
    assert "Mastery dropped on" in text.get_content()
    for name in names:
        assert name in text.get_content()
