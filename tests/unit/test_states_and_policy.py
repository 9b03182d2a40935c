"""The job state machine and the pure policies (backoff, progress throttling)."""

from __future__ import annotations

import pytest

from ultudy.jobs.policy import MAX_BACKOFF_MS, ProgressThrottle, backoff_delay_ms
from ultudy.jobs.states import TERMINAL, JobStatus, JobType, can_transition


@pytest.mark.parametrize("terminal", sorted(TERMINAL))
@pytest.mark.parametrize("target", list(JobStatus))
def test_terminal_states_never_change(terminal: JobStatus, target: JobStatus) -> None:
    assert not can_transition(terminal, target)


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


def test_queue_names_round_trip() -> None:
    for job_type in JobType:
        assert JobType.from_queue(job_type.queue_name) is job_type
    assert JobType.MATERIAL_UPLOAD.queue_name == "material-upload"


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
