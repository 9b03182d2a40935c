"""Email notifications for long-running jobs, against a real SMTP server (aiosmtpd, in
the test's loop; it stands in for the external relay): the message itself, one email per
job under redelivery, a digest for a burst, an SMTP server that is down, the outbox."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.support.backends import Backend
from tests.support.harness import api, eventually, wait_for_status, worker_process
from tests.support.processors import REGISTRY
from tests.support.smtp import closed_port_url, secure_smtp_server, smtp_server
from ultudy.config import Settings
from ultudy.db.models import notifications
from ultudy.jobs.worker import WorkerProcess
from ultudy.kinds import JobType
from ultudy.processors import notification

ALICE = {"x-user-id": "alice"}
WITH_MAIL = {**REGISTRY, JobType.NOTIFICATION: notification.process}


def mail_settings(backend: Backend, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "notify_after_s": 0,
        "notify_digest_s": 0.3,
        "public_url": "https://ultudy.example",
        "smtp_from": "Ultudy <jobs@ultudy.example>",
    }
    return backend.settings(**{**values, **overrides})


@asynccontextmanager
async def running_worker(settings: Settings) -> AsyncIterator[WorkerProcess]:
    async with worker_process(settings, WITH_MAIL) as worker:
        task = asyncio.create_task(worker.run())
        try:
            yield worker
        finally:
            worker.stop_event.set()
            await asyncio.wait_for(task, 30)


async def opt_in(client: Any, email: str = "alice@example.org") -> None:
    response = await client.put(
        "/me/notifications", json={"email": email, "enabled": True}, headers=ALICE
    )
    assert response.status_code == 200, response.text
    assert response.json()["enabled"] is True


async def ledger(state: Any) -> list[Any]:
    async with state.db.transaction(None) as conn:
        return list(await conn.execute(select(notifications)))


async def test_a_long_job_sends_one_email_with_text_html_and_link(backend: Backend) -> None:
    async with smtp_server() as (url, inbox):
        settings = mail_settings(backend, smtp_url=url)
        async with api(settings, WITH_MAIL) as (client, state):
            await opt_in(client)
            document_id = str(uuid.uuid4())
            record = await state.jobs.submit(
                "alice", JobType.LESSON_GENERATION, {"document_id": document_id}
            )
            async with running_worker(settings):
                await wait_for_status(client, str(record.id), "completed", user="alice")
                await eventually(lambda: asyncio.sleep(0, inbox.messages), lambda m: len(m) >= 1)
                await asyncio.sleep(0.5)  # nothing else follows
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert inbox.recipients == [["alice@example.org"]]
    assert message["Subject"] == "Your lesson is ready"
    assert message["To"] == "alice@example.org"
    assert message["From"] == "Ultudy <jobs@ultudy.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Ultudy-Jobs"] == str(record.id)
    assert message["Message-ID"]
    assert message["Date"]
    link = f"https://ultudy.example/documents/{document_id}/view"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    assert "Your lesson is ready." in text.get_content()
    assert link in text.get_content()
    assert f'<a href="{link}">Open in Ultudy</a>' in html.get_content()


async def test_one_email_per_job_under_redelivery_and_a_failure_in_plain_words(
    backend: Backend,
) -> None:
    async with smtp_server() as (url, inbox):
        settings = mail_settings(backend, smtp_url=url)
        async with api(settings, WITH_MAIL) as (client, state):
            await opt_in(client)
            record = await state.jobs.submit("alice", JobType.MATERIAL_UPLOAD, {"fail": "input"})
            async with running_worker(settings) as worker:
                failed = await wait_for_status(client, str(record.id), "failed", user="alice")
                # The job's end, as a redelivery, the reconciler or a second worker would
                # report it again: three more times, while the first digest is waiting.
                ended = await state.jobs.get("alice", record.id)
                for _ in range(3):
                    worker.runner.on_end(ended)  # type: ignore[misc]
                await eventually(lambda: asyncio.sleep(0, inbox.messages), lambda m: len(m) >= 1)
                for _ in range(2):
                    worker.runner.on_end(ended)  # type: ignore[misc]
                await asyncio.sleep(1.0)  # a second digest would have gone by now
            rows = await ledger(state)
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["Subject"] == "Your PDF upload failed"
    text = message.get_body(preferencelist=("plain",))
    assert text is not None
    assert failed["error_message"] == "The input says no."
    assert "The input says no." in text.get_content()
    assert f"https://ultudy.example/jobs-view?job={record.id}" in text.get_content()
    assert [(r.job_id, r.status) for r in rows] == [(record.id, "sent")]


async def test_a_burst_of_jobs_is_one_digest(backend: Backend) -> None:
    async with smtp_server() as (url, inbox):
        settings = mail_settings(backend, smtp_url=url, notify_digest_s=1.0)
        async with api(settings, WITH_MAIL) as (client, state):
            await opt_in(client)
            records = [
                await state.jobs.submit("alice", JobType.LESSON_GENERATION, {"i": i})
                for i in range(8)
            ]
            records.append(
                await state.jobs.submit("alice", JobType.LESSON_GENERATION, {"fail": "input"})
            )
            async with running_worker(settings):
                for record in records:
                    await wait_for_status(
                        client, str(record.id), {"completed", "failed"}, user="alice"
                    )
                await eventually(lambda: asyncio.sleep(0, inbox.messages), lambda m: len(m) >= 1)
                await asyncio.sleep(1.5)
            listed = (await client.get("/jobs?type=notification", headers=ALICE)).json()["jobs"]
    assert len(inbox.messages) == 1, [m["Subject"] for m in inbox.messages]
    message = inbox.messages[0]
    assert message["Subject"] == "9 of your Ultudy jobs finished (1 failed)"
    assert set(message["X-Ultudy-Jobs"].split()) == {str(r.id) for r in records}
    assert [j["status"] for j in listed] == ["completed"]  # one digest job


async def test_short_jobs_and_opted_out_users_get_no_email(backend: Backend) -> None:
    async with smtp_server() as (url, inbox):
        settings = mail_settings(backend, smtp_url=url, notify_after_s=60)
        async with api(settings, WITH_MAIL) as (client, state):
            await opt_in(client)
            short = await state.jobs.submit("alice", JobType.LESSON_GENERATION, {})
            bob = await state.jobs.submit("bob", JobType.LESSON_GENERATION, {})
            async with running_worker(settings) as worker:
                await wait_for_status(client, str(short.id), "completed", user="alice")
                ended = await state.jobs.get("bob", bob.id)
                await wait_for_status(client, str(bob.id), "completed", user="bob")
                worker.runner.on_end(ended)  # type: ignore[misc]  # bob never opted in
                await asyncio.sleep(0.5)
            assert await ledger(state) == []
    assert inbox.messages == []


async def test_smtp_down_retries_then_fails_visibly_and_the_job_is_untouched(
    backend: Backend,
) -> None:
    settings = mail_settings(backend, smtp_url=closed_port_url(), max_attempts=2)
    async with api(settings, WITH_MAIL) as (client, state):
        await opt_in(client)
        record = await state.jobs.submit("alice", JobType.LESSON_GENERATION, {"echo": "x"})
        async with running_worker(settings):
            done = await wait_for_status(client, str(record.id), "completed", user="alice")
            digests = await eventually(
                lambda: client.get("/jobs?type=notification", headers=ALICE),
                lambda r: [j["status"] for j in r.json()["jobs"]] == ["failed"],
                timeout=20,
            )
        failed = await client.get("/admin/api/notifications/failed", headers=ALICE)
        again = await wait_for_status(client, str(record.id), "completed", user="alice")
    digest = digests.json()["jobs"][0]
    assert digest["attempts"] == 2
    assert "mail server did not take the email" in digest["error_message"]
    assert failed.status_code == 200
    [entry] = failed.json()["notifications"]
    assert entry["job_id"] == str(record.id)
    assert entry["status"] == "failed"
    assert entry["error"].startswith("SMTPConnectError: ")  # the detail is the admin's
    assert "127.0.0.1" not in digest["error_message"]  # not the user's
    assert again == done  # the job's own row is unaffected


async def test_without_smtp_mail_goes_to_the_outbox_page(backend: Backend) -> None:
    settings = mail_settings(backend)
    async with api(settings, WITH_MAIL) as (client, state):
        await opt_in(client)
        record = await state.jobs.submit("alice", JobType.LESSON_GENERATION, {})
        async with running_worker(settings):
            await wait_for_status(client, str(record.id), "completed", user="alice")
            outbox = backend.data_dir / "outbox"
            await eventually(
                lambda: asyncio.sleep(0, list(outbox.glob("*.eml"))), lambda f: len(f) == 1
            )
        page = await client.get("/outbox", headers=ALICE)
        [eml] = list(outbox.glob("*.eml"))
        raw = await client.get(f"/outbox/{eml.name}", headers=ALICE)
        missing = await client.get("/outbox/../ultudy.db", headers=ALICE)
    assert page.status_code == 200
    assert "Your lesson is ready" in page.text
    assert f"job={record.id}" in page.text
    assert raw.status_code == 200
    assert "Subject: Your lesson is ready" in raw.text
    assert missing.status_code == 404


async def test_settings_round_trip_and_validation(backend: Backend) -> None:
    async with api(backend.settings()) as (client, _state):
        empty = (await client.get("/me/notifications", headers=ALICE)).json()
        assert empty == {"email": None, "enabled": False, "notify_after_s": 60.0}
        bad = await client.put(
            "/me/notifications", json={"email": "not an address", "enabled": True}, headers=ALICE
        )
        assert bad.status_code == 422
        none = await client.put("/me/notifications", json={"enabled": True}, headers=ALICE)
        assert none.status_code == 422
        assert none.json()["detail"] == "an email address is needed to opt in"
        await opt_in(client, "a@b.example")
        await opt_in(client, "alice@c.example")
        off = await client.put(
            "/me/notifications", json={"email": "alice@c.example", "enabled": False}, headers=ALICE
        )
        assert off.json()["enabled"] is False
        again = (await client.get("/me/notifications", headers=ALICE)).json()
        assert again["email"] == "alice@c.example"
        assert again["enabled"] is False
        other = (await client.get("/me/notifications", headers={"x-user-id": "bob"})).json()
        assert other["email"] is None


@pytest.mark.parametrize("implicit_tls", [False, True], ids=["starttls", "tls"])
async def test_smtp_with_tls_and_a_login(
    backend: Backend, tmp_path: Path, implicit_tls: bool
) -> None:
    async with secure_smtp_server(
        tmp_path, implicit_tls=implicit_tls, user="relay", password="s3cret"
    ) as (url, inbox, ca_file):
        settings = mail_settings(backend, smtp_url=url, smtp_ca_file=ca_file)
        async with api(settings, WITH_MAIL) as (client, state):
            await opt_in(client)
            record = await state.jobs.submit("alice", JobType.LESSON_GENERATION, {})
            async with running_worker(settings):
                await wait_for_status(client, str(record.id), "completed", user="alice")
                await eventually(lambda: asyncio.sleep(0, inbox.messages), lambda m: len(m) >= 1)
    assert [m["X-Ultudy-Jobs"] for m in inbox.messages] == [str(record.id)]


async def test_a_wrong_smtp_password_is_retried_then_failed(
    backend: Backend, tmp_path: Path
) -> None:
    async with secure_smtp_server(tmp_path, implicit_tls=False, user="relay", password="right") as (
        url,
        inbox,
        ca_file,
    ):
        wrong = url.replace(":right@", ":wrong@")
        settings = mail_settings(backend, smtp_url=wrong, smtp_ca_file=ca_file, max_attempts=2)
        async with api(settings, WITH_MAIL) as (client, state):
            await opt_in(client)
            await state.jobs.submit("alice", JobType.LESSON_GENERATION, {})
            async with running_worker(settings):
                await eventually(
                    lambda: client.get("/admin/api/notifications/failed", headers=ALICE),
                    lambda r: [n["status"] for n in r.json()["notifications"]] == ["failed"],
                    timeout=20,
                )
    assert inbox.messages == []
