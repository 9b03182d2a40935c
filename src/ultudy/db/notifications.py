"""Email notification settings and the per-job ledger, always scoped to one owner.

A row in `notifications` per job that earned an email (the job id is the key, so a job
redelivered, re-run by the reconciler or finished by two workers records it once). Its
status: `pending` (waiting for a digest), `sending` (claimed by a digest; never claimed
again, so a digest that crashed mid-send cannot send it twice), `retry` (the mail server
refused; only the same digest takes it again), `sent`, `failed`, `skipped` (opted out).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ultudy.db.models import jobs, notification_settings, notifications
from ultudy.db.types import utcnow

DIGEST_STALE = timedelta(minutes=15)


async def get_settings(conn: AsyncConnection, owner_id: str) -> Any:
    query = select(notification_settings).where(notification_settings.c.owner_id == owner_id)
    return (await conn.execute(query)).one_or_none()


async def put_settings(
    conn: AsyncConnection, owner_id: str, *, email: str | None, enabled: bool
) -> Any:
    values = {"email": email, "enabled": enabled, "updated_at": utcnow()}
    dialect: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(notification_settings)
        .values(owner_id=owner_id, digest_pending=False, **values)
        .on_conflict_do_update(index_elements=["owner_id"], set_=values)
        .returning(*notification_settings.c)
    )
    return (await conn.execute(statement)).one()


async def record_notification(conn: AsyncConnection, owner_id: str, job_id: uuid.UUID) -> bool:
    """Note that the job earned an email, if its owner opted in; True when this call
    recorded it and no digest is queued for the owner yet (the caller queues one)."""
    found = await get_settings(conn, owner_id)
    if found is None or not found.enabled or not found.email:
        return False
    dialect: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(notifications)
        .values(job_id=job_id, owner_id=owner_id, status="pending", created_at=utcnow())
        .on_conflict_do_nothing()
        .returning(notifications.c.job_id)
    )
    if (await conn.execute(statement)).first() is None:
        return False  # recorded before: at most one email per job
    # A flag older than DIGEST_STALE is a digest that was never queued (its worker died
    # between this commit and the enqueue): taken over, or the owner would get no more email.
    now = utcnow()
    flag = (
        update(notification_settings)
        .where(
            notification_settings.c.owner_id == owner_id,
            or_(
                notification_settings.c.digest_pending.is_(False),
                notification_settings.c.updated_at < now - DIGEST_STALE,
            ),
        )
        .values(digest_pending=True, updated_at=now)
    )
    return bool((await conn.execute(flag)).rowcount)


async def release_digest_flag(conn: AsyncConnection, owner_id: str) -> None:
    """A digest is about to claim: a job ending from now on queues the next one."""
    await conn.execute(
        update(notification_settings)
        .where(notification_settings.c.owner_id == owner_id)
        .values(digest_pending=False)
    )


async def claim(conn: AsyncConnection, owner_id: str, digest_id: uuid.UUID) -> list[Any]:
    """Take the owner's waiting notifications for this digest (and those this digest
    took before and could not send); their jobs' rows, oldest first."""
    mine = or_(
        notifications.c.status == "pending",
        and_(notifications.c.status == "retry", notifications.c.digest_id == digest_id),
    )
    taken = (
        update(notifications)
        .where(notifications.c.owner_id == owner_id, mine)
        .values(status="sending", digest_id=digest_id)
        .returning(notifications.c.job_id)
    )
    ids = [row.job_id for row in await conn.execute(taken)]
    if not ids:
        return []
    query = (
        select(jobs)
        .where(jobs.c.id.in_(ids), jobs.c.owner_id == owner_id)
        .order_by(jobs.c.completed_at, jobs.c.id)
    )
    return list(await conn.execute(query))


async def settle(
    conn: AsyncConnection,
    digest_id: uuid.UUID,
    job_ids: Sequence[uuid.UUID],
    status: str,
    error: str | None = None,
) -> None:
    """The digest's outcome for its jobs: sent, retry, failed or skipped."""
    values: dict[str, Any] = {"status": status, "error": error}
    if status == "sent":
        values["sent_at"] = utcnow()
    await conn.execute(
        update(notifications)
        .where(notifications.c.digest_id == digest_id, notifications.c.job_id.in_(job_ids))
        .values(**values)
    )


async def failed_notifications(conn: AsyncConnection, *, limit: int = 50) -> list[Any]:
    """Cross-owner (system login): notifications the mail server never took, newest first."""
    query = (
        select(notifications)
        .where(notifications.c.status.in_(["failed", "retry"]))
        .order_by(notifications.c.created_at.desc())
        .limit(limit)
    )
    return list(await conn.execute(query))
