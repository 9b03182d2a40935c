"""The job state machine and the pure policies (backoff, progress throttling)."""

from __future__ import annotations

from typing import Any

import pytest

from ultudy.bootstrap import load_kinds
from ultudy.config import Settings
from ultudy.errors import JobInputError
from ultudy.jobs.policy import MAX_BACKOFF_MS, ProgressThrottle, backoff_delay_ms
from ultudy.jobs.states import TERMINAL, JobStatus, can_transition
from ultudy.kinds import JobType, study_kinds


@pytest.mark.parametrize("terminal", sorted(TERMINAL))
@pytest.mark.parametrize("target", list(JobStatus))
def test_terminal_states_never_change(terminal: JobStatus, target: JobStatus) -> None:
    # but an operator's retry of a failed BullMQ job (Bull Board) runs it again
    outside_retry = (terminal, target) == (JobStatus.FAILED, JobStatus.PROCESSING)
    assert can_transition(terminal, target) is outside_retry


@pytest.mark.parametrize(
    ("source", "target", "allowed"),
    [
        (JobStatus.PENDING, JobStatus.PROCESSING, True),
        (JobStatus.PROCESSING, JobStatus.COMPLETED, True),
        (JobStatus.PROCESSING, JobStatus.PENDING, True),
        (JobStatus.PROCESSING, JobStatus.PROCESSING, True),
        (JobStatus.PENDING, JobStatus.CANCELLED, True),
        (JobStatus.PENDING, JobStatus.COMPLETED, False),
        (JobStatus.PENDING, JobStatus.PENDING, False),
    ],
)
def test_transitions(source: JobStatus, target: JobStatus, allowed: bool) -> None:
    assert can_transition(source, target) is allowed


def test_study_kinds_keep_their_queues_and_concurrency_settings() -> None:
    settings = Settings(concurrency_material_upload=7)
    kinds = study_kinds(settings, dict.fromkeys(JobType, _noop))
    assert kinds.names == tuple(JobType)
    assert kinds.by_queue("material-upload").name == JobType.MATERIAL_UPLOAD
    assert [k.concurrency for k in kinds] == [7, 5, 10, 5, 5]
    assert kinds.by_queue("notifications").name == JobType.NOTIFICATION
    with pytest.raises(JobInputError, match="unknown job type 'nope'"):
        kinds["nope"]


def test_the_old_processors_path_still_names_the_study_processors() -> None:
    settings = Settings(processors="ultudy.jobs.processors:REGISTRY")
    assert load_kinds(settings).names == tuple(JobType)


async def _noop(_ctx: object, _data: dict[str, Any]) -> dict[str, Any]:
    return {}


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff_delay_ms(n, base_ms=1000) for n in (1, 2, 3, 4)] == [1000, 2000, 4000, 8000]
    assert backoff_delay_ms(40, base_ms=1000) == MAX_BACKOFF_MS


def test_progress_throttle_lets_one_write_through_per_interval() -> None:
    now = [100.0]
    throttle = ProgressThrottle(interval_s=0.25, clock=lambda: now[0])
    throttle.started()
    assert throttle.should_write() is False  # the start itself was a write
    now[0] += 0.3
    assert throttle.should_write() is True
    assert throttle.should_write() is False
    now[0] += 0.1
    assert throttle.should_write() is False
    now[0] += 0.2
    assert throttle.should_write() is True


def test_zero_interval_writes_every_update() -> None:
    throttle = ProgressThrottle(interval_s=0)
    throttle.started()
    assert all(throttle.should_write() for _ in range(5))
