"""The `notification` job: one digest email for the owner's jobs that earned one.

Claims the owner's waiting notifications (so a job ending from now on queues the next
digest), composes one email and hands it to the transport. A mail server that refuses
or is down: the claimed rows wait for this digest's retry (`TransientError`, retried with
backoff); after the last attempt they are `failed`, this job fails with the reason, and
an admin sees both. A digest that dies mid-send leaves its rows `sending`: never sent
again, so a job never gets two emails.
"""

from __future__ import annotations

import logging
from typing import Any

from aiosmtplib import SMTPException

from ultudy.db.notifications import claim, get_settings, release_digest_flag, settle
from ultudy.errors import TransientError
from ultudy.notify.mail import compose, line_for
from ultudy.notify.transport import transport_for
from ultudy.services import StudyContext

logger = logging.getLogger(__name__)


async def process(ctx: StudyContext, data: dict[str, Any]) -> dict[str, Any]:
    services, owner = ctx.services, ctx.owner_id
    async with services.db.transaction(owner) as conn:
        await release_digest_flag(conn, owner)
        rows = await claim(conn, owner, ctx.job_id)
        found = await get_settings(conn, owner)
    ids = [row.id for row in rows]
    if not rows:
        return {"sent": 0}
    if found is None or not found.enabled or not found.email:
        await _settle(ctx, ids, "skipped")
        return {"sent": 0, "skipped": len(ids)}
    settings = services.settings
    lines = [line_for(row, settings.resolved_public_url) for row in rows]
    message = compose(lines, to=found.email, sender=settings.smtp_from, digest_id=str(ctx.job_id))
    try:
        await transport_for(settings).send(message)
    except (SMTPException, OSError) as exc:
        last = ctx.attempt >= ctx.max_attempts
        # The detail (host, port, server reply) is for the admin's list, not the user's job.
        detail = f"{type(exc).__name__}: {exc}"
        await _settle(ctx, ids, "failed" if last else "retry", detail)
        logger.warning("digest %s: the mail server did not take it: %s", ctx.job_id, detail)
        raise TransientError("the mail server did not take the email") from exc
    await _settle(ctx, ids, "sent")
    logger.info("digest %s: emailed %d job(s) to the owner", ctx.job_id, len(ids))
    return {"sent": 1, "jobs": [str(i) for i in ids], "subject": str(message["Subject"])}


async def _settle(ctx: StudyContext, ids: list[Any], status: str, error: str | None = None) -> None:
    async with ctx.services.db.transaction(ctx.owner_id) as conn:
        await settle(conn, ctx.job_id, ids, status, error)
