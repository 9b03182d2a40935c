"""Reading BullMQ's per-minute metrics back into a series (jobs/throughput.py)."""

from __future__ import annotations

from ultudy.jobs.throughput import MINUTE_MS, MetricsState, per_minute, percentile

NOW_MIN = 29_000_000  # an epoch minute
NOW_MS = NOW_MIN * MINUTE_MS + 30_000  # half-way through it


def state(count: int, prev_min: int | None, prev_count: int, closed: list[int]) -> MetricsState:
    prev_ts = None if prev_min is None else prev_min * MINUTE_MS + 5_000
    return MetricsState(count=count, prev_ts_ms=prev_ts, prev_count=prev_count, closed=closed)


def test_nothing_finished_yet_is_all_zeros() -> None:
    assert per_minute(state(0, None, 0, []), now_ms=NOW_MS, minutes=5) == [0] * 5


def test_the_first_job_counts_in_its_own_minute() -> None:
    # BullMQ's first finish sets prevTS to now and prevCount to 0; count is 1.
    assert per_minute(state(1, NOW_MIN, 0, []), now_ms=NOW_MS, minutes=3) == [0, 0, 1]


def test_closed_minutes_sit_before_the_open_one_newest_first() -> None:
    # 7 jobs in the minute before the open one, 0 before that, 4 before that; 10 so far
    # in the open (current) minute.
    counts = per_minute(state(31, NOW_MIN, 21, [7, 0, 4]), now_ms=NOW_MS, minutes=5)
    assert counts == [0, 4, 0, 7, 10]


def test_minutes_after_the_last_finish_are_empty() -> None:
    # the last job finished 3 minutes ago: its minute is still open in BullMQ's hash
    counts = per_minute(state(12, NOW_MIN - 3, 10, [5]), now_ms=NOW_MS, minutes=6)
    assert counts == [0, 5, 2, 0, 0, 0]


def test_history_older_than_the_window_is_left_out() -> None:
    counts = per_minute(state(3, NOW_MIN, 3, [1, 2, 3, 4, 5, 6]), now_ms=NOW_MS, minutes=3)
    assert counts == [2, 1, 0]


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(1, 21)]
    assert percentile(values, 50) == 10
    assert percentile(values, 95) == 19
    assert percentile([4.0], 95) == 4
    assert percentile([], 50) is None
