"""Repeating schedules: a user's job that runs on a cron expression or an interval.

Each tick makes an ordinary job row. The schedule's `next_run_at` is claimed by one
conditional UPDATE in the same transaction as the job's insert, so however many workers
tick, one of them makes the tick's job and the others find nothing to claim.
"""

from ultudy.jobs.schedules.spec import Cadence
from ultudy.jobs.schedules.store import ScheduleRecord, ScheduleStore
from ultudy.jobs.schedules.ticker import Ticker

__all__ = ["Cadence", "ScheduleRecord", "ScheduleStore", "Ticker"]
