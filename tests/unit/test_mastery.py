"""Bayesian Knowledge Tracing: hand-computed values, monotonicity and bounds."""

from __future__ import annotations

import pytest

from ultudy.study.mastery import (
    DEFAULT_PARAMS,
    MCQ_PARAMS,
    BKTParams,
    apply_answers,
    bkt_update,
)

GRID = [i / 20 for i in range(1, 20)]  # 0.05 ... 0.95


def test_default_parameters() -> None:
    assert BKTParams(p_init=0.2, p_transit=0.15, p_slip=0.1, p_guess=0.2) == DEFAULT_PARAMS
    assert BKTParams(p_init=0.2, p_transit=0.15, p_slip=0.1, p_guess=0.25) == MCQ_PARAMS


def test_correct_answer_by_hand() -> None:
    # posterior = 0.2 * 0.9 / (0.2 * 0.9 + 0.8 * 0.2) = 0.18 / 0.34
    # after learning: 0.18 / 0.34 + (1 - 0.18 / 0.34) * 0.15 = 0.6
    assert bkt_update(0.2, correct=True) == pytest.approx(0.6)


def test_incorrect_answer_by_hand() -> None:
    # posterior = 0.2 * 0.1 / (0.2 * 0.1 + 0.8 * 0.8) = 0.02 / 0.66
    posterior = 0.02 / 0.66
    assert bkt_update(0.2, correct=False) == pytest.approx(posterior + (1 - posterior) * 0.15)
    assert bkt_update(0.2, correct=False) == pytest.approx(0.175758, abs=1e-6)


def test_mcq_correct_answer_by_hand() -> None:
    # posterior = 0.18 / (0.18 + 0.8 * 0.25) = 0.18 / 0.38; then learning
    posterior = 0.18 / 0.38
    expected = posterior + (1 - posterior) * 0.15
    assert bkt_update(0.2, correct=True, params=MCQ_PARAMS) == pytest.approx(expected)
    assert expected == pytest.approx(0.552632, abs=1e-6)


def test_custom_parameters_by_hand() -> None:
    params = BKTParams(p_init=0.5, p_transit=0.1, p_slip=0.2, p_guess=0.3)
    # posterior = 0.5 * 0.8 / (0.5 * 0.8 + 0.5 * 0.3) = 0.4 / 0.55
    posterior = 0.4 / 0.55
    assert bkt_update(0.5, correct=True, params=params) == pytest.approx(
        posterior + (1 - posterior) * 0.1
    )


def test_a_guessable_answer_is_weaker_evidence() -> None:
    assert bkt_update(0.2, correct=True, params=MCQ_PARAMS) < bkt_update(0.2, correct=True)


@pytest.mark.parametrize("p", GRID)
@pytest.mark.parametrize("params", [DEFAULT_PARAMS, MCQ_PARAMS])
def test_correct_raises_and_results_stay_in_bounds(p: float, params: BKTParams) -> None:
    right = bkt_update(p, correct=True, params=params)
    wrong = bkt_update(p, correct=False, params=params)
    assert p < right < 1.0
    assert 0.0 < wrong < right


@pytest.mark.parametrize("p", [p for p in GRID if p >= DEFAULT_PARAMS.p_init])
@pytest.mark.parametrize("params", [DEFAULT_PARAMS, MCQ_PARAMS])
def test_incorrect_lowers_from_the_prior_up(p: float, params: BKTParams) -> None:
    assert bkt_update(p, correct=False, params=params) < p


def test_incorrect_at_very_low_mastery_is_outweighed_by_learning() -> None:
    # Documented BKT behaviour: every attempt is a chance to learn (P(T) = 0.15).
    assert bkt_update(0.05, correct=False) > 0.05


@pytest.mark.parametrize("correct", [True, False])
def test_update_is_monotonic_in_the_prior(correct: bool) -> None:
    values = [bkt_update(p, correct=correct) for p in GRID]
    assert values == sorted(values)


def test_extremes() -> None:
    assert bkt_update(0.0, correct=True) == pytest.approx(DEFAULT_PARAMS.p_transit)
    assert bkt_update(1.0, correct=False) == 1.0


@pytest.mark.parametrize("p", [-0.1, 1.1])
def test_update_rejects_a_probability_out_of_range(p: float) -> None:
    with pytest.raises(ValueError, match="p_known"):
        bkt_update(p, correct=True)


def test_apply_answers_folds_in_order_and_skips_unsure() -> None:
    expected = bkt_update(bkt_update(0.2, correct=True), correct=False)
    assert apply_answers(0.2, [True, None, False, None]) == pytest.approx(expected)
    assert apply_answers(0.2, [True, False]) == pytest.approx(expected)


def test_apply_answers_without_decided_answers_leaves_mastery_unchanged() -> None:
    assert apply_answers(0.37, []) == 0.37
    assert apply_answers(0.37, [None, None]) == 0.37


def test_apply_answers_uses_the_given_parameters() -> None:
    assert apply_answers(0.2, [True], params=MCQ_PARAMS) == pytest.approx(
        bkt_update(0.2, correct=True, params=MCQ_PARAMS)
    )


def test_repeated_correct_answers_converge_towards_mastery() -> None:
    p = apply_answers(DEFAULT_PARAMS.p_init, [True] * 5)
    assert 0.99 < p < 1.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"p_init": 1.5},
        {"p_transit": 0.0},
        {"p_slip": 1.0},
        {"p_guess": -0.1},
        {"p_slip": 0.5, "p_guess": 0.5},
    ],
)
def test_params_are_validated(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="p_"):
        BKTParams(**kwargs)
