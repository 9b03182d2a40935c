"""The job state machine (job kinds are the application's: see `jobs.types`).

    pending ──▶ processing ──▶ completed
       │  ▲          │  │
       │  └─ retry ──┘  └──▶ failed
       └──────────┬─────────▶ cancelled  (from pending or processing)

`pending` covers queued, delayed and waiting-to-retry; `processing` goes back to
`pending` only for a retry. `processing` -> `processing` is a restart after a stall (the
worker holding it died; BullMQ handed it to another). `failed` -> `processing` is an
operator's retry of the failed BullMQ job from outside (Bull Board, node bullmq's
`job.retry()`): BullMQ delivers a failed job again only then. Otherwise terminal states
never change: a completed or cancelled job is not run again.
"""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})
ACTIVE = frozenset({JobStatus.PENDING, JobStatus.PROCESSING})

# target state -> the states it may be entered from
ALLOWED_FROM: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.PENDING: frozenset({JobStatus.PROCESSING}),
    JobStatus.PROCESSING: frozenset({JobStatus.PENDING, JobStatus.PROCESSING, JobStatus.FAILED}),
    JobStatus.COMPLETED: frozenset({JobStatus.PROCESSING}),
    JobStatus.FAILED: frozenset({JobStatus.PENDING, JobStatus.PROCESSING}),
    JobStatus.CANCELLED: frozenset({JobStatus.PENDING, JobStatus.PROCESSING}),
}


def can_transition(source: JobStatus, target: JobStatus) -> bool:
    return source in ALLOWED_FROM[target]
