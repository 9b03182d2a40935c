"""The worker's hook on ending jobs: which ones earn an email, and the digest job."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from ultudy.config import Settings
from ultudy.db import Database
from ultudy.db.notifications import record_notification, release_digest_flag
from ultudy.jobs.record import JobRecord
from ultudy.jobs.service import JobService
from ultudy.kinds import JobType

logger = logging.getLogger(__name__)


class Notifier:
    def __init__(self, settings: Settings, db: Database, jobs: JobService) -> None:
        self.after = timedelta(seconds=settings.notify_after_s)
        self.digest_delay_s = settings.notify_digest_s
        self.db = db
        self.jobs = jobs
        self.tasks: set[asyncio.Task[None]] = set()

    def job_ended(self, record: JobRecord) -> None:
        """Called for every completed or failed job: must stay cheap for short ones (a
        subtraction and a comparison); the few that qualify are recorded off the hot path."""
        ended = record.completed_at
        if ended is None or record.type == JobType.NOTIFICATION:
            return
        if ended - record.created_at < self.after and not _reminder_to_send(record):
            return
        task = asyncio.create_task(self._record(record), name=f"notify:{record.id}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _record(self, record: JobRecord) -> None:
        owner = record.owner_id
        try:
            async with self.db.transaction(owner) as conn:
                queue_digest = await record_notification(conn, owner, record.id)
            if queue_digest:
                # Jobs ending in the next few seconds join this digest: one email, not fifty.
                await self.jobs.submit(owner, JobType.NOTIFICATION, {}, delay_s=self.digest_delay_s)
        except Exception:
            logger.exception("job %s: could not record its email notification", record.id)
            await self._release(owner)

    async def _release(self, owner_id: str) -> None:
        """No digest was queued after all: let the next ending job queue one."""
        try:
            async with self.db.transaction(owner_id) as conn:
                await release_digest_flag(conn, owner_id)
        except Exception:
            logger.warning("could not release the digest flag of %s", owner_id)

    async def close(self) -> None:
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)


def _reminder_to_send(record: JobRecord) -> bool:
    """A check-in reminder is an email by nature, however quick: when it found concepts."""
    return record.type == JobType.CHECK_IN_REMINDER and bool(
        (record.result_data or {}).get("concepts")
    )
