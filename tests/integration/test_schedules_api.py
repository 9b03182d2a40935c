"""Repeating schedules through the API: create, list, pause, resume, delete; bad input is a
422 that says what is wrong; another user's schedule is a 404."""

from __future__ import annotations

import uuid

import pytest

from tests.support.backends import Backend
from tests.support.harness import api

ALICE = {"x-user-id": "alice"}
BOB = {"x-user-id": "bob"}
REMINDER = {"name": "Evening reminder", "job_type": "check_in_reminder", "cron": "0 19 * * *"}


async def test_create_list_pause_resume_delete(backend: Backend) -> None:
    async with api(backend.settings()) as (client, _state):
        made = await client.post(
            "/schedules", json={**REMINDER, "timezone": "Europe/Berlin"}, headers=ALICE
        )
        assert made.status_code == 201, made.text
        schedule = made.json()
        assert schedule["every"] == "At 19:00 every day (Europe/Berlin)"
        assert schedule["input"] == {"since_hours": 24.0}
        assert schedule["next_run_at"].endswith(("18:00:00Z", "17:00:00Z"))  # 19:00 Berlin
        sid = schedule["id"]
        listed = (await client.get("/schedules", headers=ALICE)).json()["schedules"]
        assert [s["id"] for s in listed] == [sid]
        assert (await client.get("/schedules", headers=BOB)).json()["schedules"] == []
        paused = await client.post(f"/schedules/{sid}/pause", headers=ALICE)
        assert paused.json()["paused"] is True
        resumed = await client.post(f"/schedules/{sid}/resume", headers=ALICE)
        assert resumed.json()["paused"] is False
        assert (await client.delete(f"/schedules/{sid}", headers=BOB)).status_code == 404
        assert (await client.post(f"/schedules/{sid}/pause", headers=BOB)).status_code == 404
        assert (await client.delete(f"/schedules/{sid}", headers=ALICE)).status_code == 204
        assert (await client.get("/schedules", headers=ALICE)).json()["schedules"] == []
        assert (await client.delete(f"/schedules/{sid}", headers=ALICE)).status_code == 404


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"cron": "61 * * * *"}, "cron '61 * * * *' is not a valid expression: Bad minute"),
        ({"cron": "every evening"}, "is not a valid expression"),
        ({"cron": "*/30 * * * *"}, "runs more often than every 3600 s"),
        ({"cron": None, "interval_s": 60}, "interval_s must be between 3600 and"),
        ({"interval_s": 3600}, "give exactly one of cron"),
        ({"cron": None}, "give exactly one of cron"),
        ({"timezone": "Mars/Olympus"}, "timezone 'Mars/Olympus' is not an IANA time zone"),
        ({"input": {"since_hours": -1}}, "input for check_in_reminder: since_hours"),
        ({"input": {"what": 1}}, "input for check_in_reminder: what: Extra inputs"),
    ],
)
async def test_bad_schedules_are_422_with_the_reason(
    backend: Backend, change: dict[str, object], says: str
) -> None:
    async with api(backend.settings(schedule_min_interval_s=3600)) as (client, _state):
        response = await client.post("/schedules", json={**REMINDER, **change}, headers=ALICE)
        assert response.status_code == 422, response.text
        assert says in response.json()["detail"]
        assert (await client.get("/schedules", headers=ALICE)).json()["schedules"] == []


async def test_a_lesson_schedule_needs_a_section_of_the_callers(backend: Backend) -> None:
    async with api(backend.settings()) as (client, _state):
        response = await client.post(
            "/schedules",
            json={
                "name": "nightly lesson",
                "job_type": "lesson_generation",
                "interval_s": 86400,
                "input": {"document_id": str(uuid.uuid4()), "section_id": str(uuid.uuid4())},
            },
            headers=ALICE,
        )
        assert response.status_code == 404
        assert response.json()["detail"] == "No such section in that document"
        unknown = await client.post(
            "/schedules", json={**REMINDER, "job_type": "material_upload"}, headers=ALICE
        )
        assert unknown.status_code == 422


async def test_schedules_per_user_are_capped(backend: Backend) -> None:
    async with api(backend.settings(max_schedules_per_user=2)) as (client, _state):
        for _ in range(2):
            assert (
                await client.post("/schedules", json=REMINDER, headers=ALICE)
            ).status_code == 201
        third = await client.post("/schedules", json=REMINDER, headers=ALICE)
        assert third.status_code == 422
        assert "you have 2 schedules already" in third.json()["detail"]
        assert (await client.post("/schedules", json=REMINDER, headers=BOB)).status_code == 201
