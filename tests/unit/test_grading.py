"""Grading: exact multiple choice, and the 3-band offline free-text grader.

The accuracy floors are measured on ``tests/data/grading_pairs.jsonl`` (labels are human
judgement; "adversarial" answers are wrong answers that reuse the reference's words). The
naive token-recall grader fails the same floors, which shows that they can fail.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ultudy.study.grading import (
    GRADER_THRESHOLDS,
    FreeTextGrade,
    FreeTextGrader,
    GraderThresholds,
    OfflineGrader,
    Verdict,
    compare,
    content_recall,
    grade_mcq,
)

PAIRS_PATH = Path(__file__).resolve().parents[1] / "data" / "grading_pairs.jsonl"
PAIRS: list[dict[str, str]] = [
    json.loads(line) for line in PAIRS_PATH.read_text().splitlines() if line.strip()
]
GRADER = OfflineGrader()

# Floors (the offline grader measured: decided accuracy 0.98, 0 of 41 adversarial answers
# graded correct, coverage 0.48; on the held-out "test" questions 0.97 and 0 of 20).
MIN_DECIDED_ACCURACY = 0.9
MAX_ADVERSARIAL_CORRECT = 2
MIN_COVERAGE = 0.35
MIN_RESTATED_CORRECT = 0.8


def offline(pair: dict[str, str]) -> Verdict:
    return GRADER.grade_sync(
        question=pair["question"], reference=pair["reference"], answer=pair["answer"]
    ).verdict


def naive(pair: dict[str, str]) -> Verdict:
    """The naive grader: token recall of the reference's content words >= 0.5."""
    return "correct" if content_recall(pair["reference"], pair["answer"]) >= 0.5 else "incorrect"


@dataclass(frozen=True, kw_only=True)
class Metrics:
    coverage: float
    decided_accuracy: float
    adversarial_correct: int
    wrong_typical_correct: int


def measure(grade: Callable[[dict[str, str]], Verdict], pairs: list[dict[str, str]]) -> Metrics:
    graded = [(pair, grade(pair)) for pair in pairs]
    decided = [(pair, verdict) for pair, verdict in graded if verdict != "unsure"]
    right = sum(verdict == pair["verdict"] for pair, verdict in decided)
    return Metrics(
        coverage=len(decided) / len(graded),
        decided_accuracy=right / len(decided) if decided else 0.0,
        adversarial_correct=sum(
            verdict == "correct" for pair, verdict in graded if pair["kind"] == "adversarial"
        ),
        wrong_typical_correct=sum(
            verdict == "correct"
            for pair, verdict in graded
            if pair["kind"] == "typical" and pair["verdict"] == "incorrect"
        ),
    )


def meets_floors(metrics: Metrics) -> bool:
    return (
        metrics.decided_accuracy >= MIN_DECIDED_ACCURACY
        and metrics.adversarial_correct <= MAX_ADVERSARIAL_CORRECT
        and metrics.coverage >= MIN_COVERAGE
    )


# ---------------------------------------------------------------------------------------
# The labelled set


def test_labelled_set_is_large_and_well_formed() -> None:
    assert len(PAIRS) >= 60
    assert len({pair["id"] for pair in PAIRS}) == len(PAIRS)
    kinds = Counter(pair["kind"] for pair in PAIRS)
    assert set(kinds) == {"typical", "adversarial"}
    assert kinds["adversarial"] >= 15
    assert {pair["verdict"] for pair in PAIRS} == {"correct", "incorrect"}
    assert all(pair["verdict"] == "incorrect" for pair in PAIRS if pair["kind"] == "adversarial")
    assert {pair["split"] for pair in PAIRS} == {"dev", "test"}
    styles = Counter(pair["style"] for pair in PAIRS)
    for style in ("paraphrase", "terse", "verbose", "wrong", "off_topic", "dont_know"):
        assert styles[style] >= 3, style
    for style in ("negation", "swap", "antonym", "number"):
        assert styles[style] >= 2, style


# ---------------------------------------------------------------------------------------
# Accuracy floors


def test_offline_grader_meets_the_floors_on_the_whole_set() -> None:
    metrics = measure(offline, PAIRS)
    assert metrics.decided_accuracy >= MIN_DECIDED_ACCURACY, metrics
    assert metrics.adversarial_correct <= MAX_ADVERSARIAL_CORRECT, metrics
    assert metrics.coverage >= MIN_COVERAGE, metrics
    assert metrics.wrong_typical_correct == 0, metrics


def test_offline_grader_meets_the_floors_on_the_held_out_questions() -> None:
    held_out = [pair for pair in PAIRS if pair["split"] == "test"]
    assert meets_floors(measure(offline, held_out))


def test_offline_grader_recognises_restated_correct_answers() -> None:
    restated = [pair for pair in PAIRS if pair["style"] == "restated"]
    recognised = sum(offline(pair) == "correct" for pair in restated)
    assert recognised / len(restated) >= MIN_RESTATED_CORRECT


def test_naive_token_recall_grader_fails_the_floors() -> None:
    """The floors can fail: plain overlap marks the adversarial wrong answers correct."""
    metrics = measure(naive, PAIRS)
    assert not meets_floors(metrics)
    adversarial = sum(pair["kind"] == "adversarial" for pair in PAIRS)
    assert metrics.adversarial_correct >= 0.8 * adversarial
    assert metrics.decided_accuracy < MIN_DECIDED_ACCURACY


@pytest.mark.parametrize(
    "pair", [p for p in PAIRS if p["kind"] == "adversarial"], ids=lambda p: p["id"]
)
def test_no_adversarial_answer_is_graded_correct(pair: dict[str, str]) -> None:
    # The floor above allows a couple; today there are none, and each one is a regression.
    assert offline(pair) != "correct"


# ---------------------------------------------------------------------------------------
# Specific free-text cases

QUESTION = "What does smoking do to the risk of lung cancer?"
REFERENCE = "Smoking increases the risk of lung cancer because tar damages the cells of the lungs."


def grade(answer: str, reference: str = REFERENCE, question: str = QUESTION) -> FreeTextGrade:
    return GRADER.grade_sync(question=question, reference=reference, answer=answer)


def test_restated_answer_is_correct() -> None:
    result = grade("It increases the risk, since tar damages the cells of the lungs.")
    assert result.verdict == "correct"
    assert result.score >= GRADER_THRESHOLDS.correct
    assert result.feedback.startswith("Correct")


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("Smoking does not increase the risk because tar damages the lung cells.", "negates"),
        ("Smoking decreases the risk of lung cancer because tar damages the lung cells.", "says"),
        ("Smoking increases the risk because the cells damage the tar of the lungs.", "order"),
        (
            "Smoking increases the risk 3 times because tar damages the cells of the lungs.",
            "number",
        ),
        ("Smoking increases the risk because nicotine damages the cells of the lungs.", "nicotine"),
    ],
)
def test_high_overlap_with_a_change_of_meaning_is_unsure(answer: str, reason: str) -> None:
    result = grade(answer)
    assert result.verdict == "unsure"
    assert "may change the meaning" in result.feedback
    assert "judge it yourself" in result.feedback
    measured = compare(question=QUESTION, reference=REFERENCE, answer=answer)
    assert measured.score >= GRADER_THRESHOLDS.correct  # plain overlap would say "correct"
    assert any(reason in signal for signal in measured.signals), measured.signals


def test_passive_switch_without_swap_is_unsure() -> None:
    result = grade(
        "A confounder is a variable that is influenced by both the explanatory and the response.",
        reference="A confounder is a variable that influences both the explanatory and the response.",
        question="What is a confounder?",
    )
    assert result.verdict == "unsure"


def test_prefix_negation_is_a_change_of_meaning() -> None:
    result = grade(
        "A biased estimator is one whose expected value equals the true parameter.",
        reference="An unbiased estimator is one whose expected value equals the true parameter.",
        question="What is an unbiased estimator?",
    )
    assert result.verdict == "unsure"


def test_partial_answer_is_unsure_and_names_what_is_missing() -> None:
    result = grade("Tar.")
    assert result.verdict == "unsure"
    assert '"increases"' in result.feedback


@pytest.mark.parametrize(
    "answer",
    ["", "   ", "I don't know", "idk", "No idea, sorry.", "pass", "?", "Not sure."],
)
def test_non_answers_are_incorrect(answer: str) -> None:
    result = grade(answer)
    assert result.verdict == "incorrect"
    assert result.score == 0.0
    assert "No answer" in result.feedback


def test_off_topic_answer_is_incorrect_and_feedback_names_the_key_words() -> None:
    result = grade("Photosynthesis turns light energy into chemical energy.")
    assert result.verdict == "incorrect"
    assert '"increases"' in result.feedback
    assert '"tar"' in result.feedback


def test_hedged_answer_is_graded_on_its_content() -> None:
    assert grade("I think it increases the risk, since tar damages lung cells.").verdict == (
        "correct"
    )


def test_no_reference_answer_is_unsure() -> None:
    assert grade("Anything at all.", reference="  ").verdict == "unsure"


def test_scores_are_in_range_for_every_labelled_pair() -> None:
    for pair in PAIRS:
        result = GRADER.grade_sync(
            question=pair["question"], reference=pair["reference"], answer=pair["answer"]
        )
        assert 0.0 <= result.score <= 1.0
        assert result.feedback


def test_thresholds_are_injected() -> None:
    strict = OfflineGrader(GraderThresholds(correct=1.01))
    answer = "It increases the risk, since tar damages the cells of the lungs."
    result = strict.grade_sync(question=QUESTION, reference=REFERENCE, answer=answer)
    assert result.verdict == "unsure"


async def test_async_grade_is_the_sync_grade() -> None:
    grader: FreeTextGrader = OfflineGrader()
    answer = "Smoking increases the risk because tar damages the cells of the lungs."
    result = await grader.grade(question=QUESTION, reference=REFERENCE, answer=answer)
    assert result == GRADER.grade_sync(question=QUESTION, reference=REFERENCE, answer=answer)


@pytest.mark.parametrize(
    "kwargs",
    [{"verdict": "maybe", "score": 0.5}, {"verdict": "correct", "score": 1.5}],
)
def test_free_text_grade_validates(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be"):
        FreeTextGrade(feedback="x", **kwargs)


# ---------------------------------------------------------------------------------------
# Multiple choice

CHOICES = ["Mitochondria", "Ribosome", "Nucleus", "Golgi apparatus"]


@pytest.mark.parametrize("choice", [0, "Mitochondria", "  mitochondria ", "MITOCHONDRIA", "0"])
def test_mcq_right_choice(choice: str | int) -> None:
    result = grade_mcq(choice=choice, choices=CHOICES, answer_index=0)
    assert result == FreeTextGrade(
        verdict="correct", score=1.0, feedback='Correct: "Mitochondria".'
    )


@pytest.mark.parametrize("choice", [2, "nucleus", "Nucleus\n"])
def test_mcq_wrong_choice_names_the_right_answer(choice: str | int) -> None:
    result = grade_mcq(choice=choice, choices=CHOICES, answer_index=0)
    assert result.verdict == "incorrect"
    assert result.score == 0.0
    assert '"Nucleus"' in result.feedback
    assert 'right answer is "Mitochondria"' in result.feedback


def test_mcq_text_matching_takes_whitespace_inside_into_account() -> None:
    result = grade_mcq(choice="golgi   apparatus", choices=CHOICES, answer_index=3)
    assert result.verdict == "correct"


@pytest.mark.parametrize("choice", [7, -1, "Lysosome", "", True])
def test_mcq_unknown_choice_is_incorrect(choice: str | int) -> None:
    result = grade_mcq(choice=choice, choices=CHOICES, answer_index=1)
    assert result.verdict == "incorrect"
    assert "not one of the choices" in result.feedback
    assert 'right answer is "Ribosome"' in result.feedback


def test_mcq_numeric_choices_match_text_before_index() -> None:
    assert grade_mcq(choice="2", choices=["1", "2", "3"], answer_index=1).verdict == "correct"
    assert grade_mcq(choice=2, choices=["1", "2", "3"], answer_index=1).verdict == "incorrect"


@pytest.mark.parametrize("answer_index", [4, -1])
def test_mcq_rejects_an_answer_index_outside_the_choices(answer_index: int) -> None:
    with pytest.raises(ValueError, match="answer_index"):
        grade_mcq(choice=0, choices=CHOICES, answer_index=answer_index)
