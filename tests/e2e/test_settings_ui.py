"""The settings page in Chromium: email notifications and schedules, and the outbox page
showing the email a long job produced (no SMTP server configured: the outbox)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import System, real_system, screenshot, signed_in
from tests.e2e.test_ui import upload
from tests.support.backends import Backend

pytestmark = pytest.mark.only_backends("sqlite", "postgres")


@pytest.fixture
def mailing_system(backend: Backend, tmp_path: Path) -> Iterator[System]:
    """Every job counts as long (NOTIFY_AFTER_S=0), so one upload earns an email."""
    with real_system(backend, tmp_path, notify_after_s=0, notify_digest_s=0.3) as running:
        yield running


async def test_notification_settings_and_the_outbox(
    mailing_system: System, browser: Browser
) -> None:
    system = mailing_system
    context, page = await signed_in(browser, system.base, "carol")
    await page.goto("/settings-view")
    await expect(page.locator("#notify-help")).to_contain_text("longer than 0 s")
    await page.check("#notify-enabled")
    await page.click("#notify-form button[type=submit]")
    await expect(page.locator("#notify-form .form-error")).to_have_text(
        "an email address is needed to opt in"
    )
    await page.fill("#notify-email", "carol@example.org")
    await page.click("#notify-form button[type=submit]")
    await expect(page.locator("#notify-saved")).to_have_text(
        "Saved: emails go to carol@example.org."
    )
    await page.reload()
    await expect(page.locator("#notify-email")).to_have_value("carol@example.org")
    await expect(page.locator("#notify-enabled")).to_be_checked()
    await screenshot(page, "settings")

    await page.goto("/")
    await upload(page)
    await expect(page.locator("#documents a")).to_have_count(1, timeout=30000)
    document_href = await page.locator("#documents a").get_attribute("href")
    await page.goto("/outbox")
    mail = page.locator("article.mail")
    for _ in range(60):  # the digest goes out a moment after the upload ends
        if await mail.count():
            break
        await page.wait_for_timeout(250)
        await page.reload()
    await expect(mail).to_have_count(1)
    await expect(mail.locator("h2")).to_have_text(re.compile(r"^Your PDF upload “.+” is ready$"))
    await expect(mail).to_contain_text("To carol@example.org")
    await expect(mail.locator("pre")).to_contain_text(f"{system.base}{document_href}")
    await screenshot(page, "outbox")
    await context.close()


async def test_schedules_are_created_paused_and_deleted(system: System, browser: Browser) -> None:
    context, page = await signed_in(browser, system.base, "dave")
    await page.goto("/settings-view")
    await expect(page.locator("#schedules")).to_contain_text("No schedules yet.")
    await page.fill("#schedule-cron", "0 25 * * *")
    await page.click("#schedule-form button[type=submit]")
    error = page.locator("#schedule-form .form-error")
    await expect(error).to_have_text("cron '0 25 * * *' is not a valid expression: Bad hour")
    await page.fill("#schedule-cron", "0 19 * * *")
    await page.fill("#schedule-tz", "Europe/Paris")
    await page.click("#schedule-form button[type=submit]")
    row = page.locator("#schedules tr[data-schedule]")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("At 19:00 every day (Europe/Paris)")
    await expect(row).to_contain_text("Check-in reminder")
    await expect(row).to_contain_text("active")
    await row.locator("[data-action=pause]").click()
    await expect(row).to_contain_text("paused")
    await row.locator("[data-action=resume]").click()
    await expect(row).to_contain_text("active")
    await row.locator("[data-action=delete]").click()
    await expect(page.locator("#schedules")).to_contain_text("No schedules yet.")
    await context.close()
