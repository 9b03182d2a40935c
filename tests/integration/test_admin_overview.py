"""Issue 11: the admin dashboard's overview carries what the dashboard shows of other
people's failed jobs, not their inputs and results."""

from __future__ import annotations

from tests.support.backends import Backend
from tests.support.harness import api, run_burst, wait_for_status
from ultudy.kinds import JobType

ADMIN = {"x-user-id": "ops"}  # dev auth: everyone on this machine is an admin
SHOWN = {"id", "owner_id", "type", "error_message", "attempts", "completed_at", "updated_at"}


async def test_failed_jobs_in_the_overview_carry_only_what_the_dashboard_shows(
    backend: Backend,
) -> None:
    settings = backend.settings()
    private = {"fail": "input", "answers": ["bob's private answer"]}
    async with api(settings) as (client, state):
        record = await state.jobs.submit("bob", JobType.CHECK_IN_EVALUATION, private)
        await run_burst(settings)
        await wait_for_status(client, str(record.id), "failed", user="bob")
        response = await client.get("/admin/api/overview", headers=ADMIN)
    assert response.status_code == 200
    failed = response.json()["failed_jobs"]
    assert [job["id"] for job in failed] == [str(record.id)]
    assert set(failed[0]) == SHOWN
    assert failed[0]["owner_id"] == "bob"
    assert "bob's private answer" not in response.text
