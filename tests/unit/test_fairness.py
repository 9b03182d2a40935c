"""The fair-share priority numbers and the prune command's age (pure)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ultudy.cli.prune import parse_age
from ultudy.errors import ConfigError
from ultudy.jobs.fairness import RANK_BAND, band_floor, bull_priority, level_served

BULLMQ_MAX_PRIORITY = 2**21


def test_the_user_priority_comes_first_and_the_rank_orders_within_it() -> None:
    assert bull_priority(0, 0) == 0  # BullMQ's plain wait list
    assert bull_priority(0, 1) < bull_priority(0, 2) < bull_priority(1, 0)
    assert bull_priority(0, 10**9) == RANK_BAND - 1 < bull_priority(1, 0)  # capped in band
    assert bull_priority(0, -3) == 0
    assert bull_priority(10, 10**9) < BULLMQ_MAX_PRIORITY


def test_the_level_served_is_that_of_the_bands_next_job() -> None:
    def score(priority: int, counter: int) -> float:  # as BullMQ's addPrioritizedJob makes it
        return float(priority * 0x100000000 + counter)

    assert level_served(0, first_score=None, plain=False) == 0
    assert level_served(0, first_score=score(7, 123), plain=False) == 7
    assert level_served(0, first_score=score(7, 123), plain=True) == 0  # rank 0 waits
    assert level_served(2, first_score=score(2 * RANK_BAND + 4, 9), plain=True) == 4
    assert level_served(2, first_score=score(3 * RANK_BAND, 9), plain=False) == 0  # next band
    assert band_floor(2) == score(2 * RANK_BAND, 0)


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("30d", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
        ("2w", timedelta(weeks=2)),
        ("90m", timedelta(minutes=90)),
        (" 1h ", timedelta(hours=1)),
    ],
)
def test_an_age_is_a_number_and_a_unit(text: str, age: timedelta) -> None:
    assert parse_age(text) == age


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("30", "not a duration"),
        ("30 d", "not a duration"),
        ("1.5d", "not a duration"),
        ("30s", "not a duration"),
        ("", "not a duration"),
        ("59m", "too short"),
    ],
)
def test_a_bad_age_is_a_config_error(text: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        parse_age(text)
