"""What the runner gets from a queue: a delivery of one job, and what it says back (a
completion queued behind, an expected failure not to retry)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

from ultudy.errors import UltudyError
from ultudy.jobs.context import CancelSignal


@dataclass(frozen=True, slots=True)
class Behind:
    """What a run returns when its completion was queued, not awaited (the worker's
    write-behind): the row, and the job's final event, say how it ended a moment later.
    `result` is the processor's (its summary goes to BullMQ's `returnvalue`), `chars`
    the length of its JSON (measured once, when the runner checked it is storable)."""

    result: dict[str, Any]
    chars: int


class ExpectedFailure(UltudyError):
    """Raised to the queue when the job must not be retried (bad input, cancelled).
    `cause` is the processor's own error, so that a sync request answers as it says."""

    def __init__(self, message: str, *, cause: UltudyError) -> None:
        super().__init__(message)
        self.cause = cause


@dataclass(frozen=True, kw_only=True)
class Delivery:
    job_id: uuid.UUID
    owner_id: str
    type: str
    input_data: dict[str, Any]
    attempt: int
    max_attempts: int
    will_retry: bool = False
    enqueued_at: float | None = None  # epoch seconds of the (last) add to the queue
    # The BullMQ queue the job came from: its progress and log lines are mirrored onto
    # the BullMQ job (None for an inline run, which has none).
    queue: str | None = None
    # Delivered before (a retry, a stalled restart, an operator's retry from outside):
    # the run waits for its start write, so a row that is not runnable is not run.
    redelivered: bool = False


class StartAwareSignal:
    """Cancelled when the queue says so, or when the row turned out not to be runnable."""

    def __init__(self, outer: CancelSignal, started: asyncio.Future[Any]) -> None:
        self.outer = outer
        self.started = started

    @property
    def aborted(self) -> bool:
        if self.outer.aborted:
            return True
        started = self.started
        if not started.done():
            return False
        # A failed start write is not a cancellation: the final write fails too, and retries.
        return started.exception() is None and started.result() is None


async def start_applied(started: asyncio.Future[Any]) -> bool:
    """False when the start write found the row not runnable. A failed write (the
    database away) is not that: the job runs, and its final write fails and retries."""
    try:
        return await asyncio.shield(started) is not None
    except Exception:
        return True
