"""The worker's schedule loop: make the job of every due tick, once."""

from __future__ import annotations

import logging

from redis.exceptions import RedisError

from ultudy.db.types import utcnow
from ultudy.jobs.events import EventLog
from ultudy.jobs.queue import JobQueues
from ultudy.jobs.record import new_job
from ultudy.jobs.schedules.store import ScheduleRecord, ScheduleStore

logger = logging.getLogger(__name__)

TICK_BATCH = 100  # due schedules claimed per pass; the next pass takes the rest


class Ticker:
    def __init__(self, store: ScheduleStore, queues: JobQueues, events: EventLog) -> None:
        self.store = store
        self.queues = queues
        self.events = events

    async def run_once(self) -> int:
        """Claim and start every due tick; how many jobs this process made."""
        now = utcnow()
        made = 0
        for schedule in await self.store.due(now, limit=TICK_BATCH):
            made += await self._tick(schedule)
        return made

    async def _tick(self, schedule: ScheduleRecord) -> int:
        if schedule.job_type not in self.queues.kinds:
            logger.warning(
                "schedule %s: job type %r is not registered here; skipped",
                schedule.id,
                schedule.job_type,
            )
            return 0
        now = utcnow()
        # A tick missed while no worker ran is made once, not once per missed tick.
        next_run_at = schedule.cadence.next_after(max(now, schedule.next_run_at))
        job = new_job(
            owner_id=schedule.owner_id,
            type=schedule.job_type,
            input_data={**schedule.input_data, "schedule_id": str(schedule.id)},
            max_attempts=self.queues.settings.max_attempts,
        )
        if not await self.store.claim(schedule, job, next_run_at):
            return 0
        logger.info("schedule %s: tick made job %s", schedule.id, job.id)
        try:
            await self.queues.add(job)
        except (RedisError, OSError):
            logger.warning("enqueue of job %s failed; the reconciler will retry", job.id)
        self.events.publish_job("job.created", job)
        return 1
