"""The offline free-text grader: word overlap in three bands, no model, no network."""

from __future__ import annotations

import logging

from ultudy.study.grading.bands import compare, decide
from ultudy.study.grading.model import GRADER_THRESHOLDS, FreeTextGrade, GraderThresholds
from ultudy.study.grading.reading import read, strip_hedges

logger = logging.getLogger(__name__)

_NO_REFERENCE = FreeTextGrade(
    verdict="unsure",
    score=0.0,
    feedback="This question has no reference answer to compare with. Judge your answer yourself.",
)
_NO_ANSWER = FreeTextGrade(
    verdict="incorrect",
    score=0.0,
    feedback="No answer given. Read the reference answer, then try this question again later.",
)


class OfflineGrader:
    """`FreeTextGrader` without a language model: word overlap in three bands."""

    def __init__(self, thresholds: GraderThresholds = GRADER_THRESHOLDS) -> None:
        self.thresholds = thresholds

    def grade_sync(self, *, question: str, reference: str, answer: str) -> FreeTextGrade:
        """Grade an answer (one or two milliseconds)."""
        if not read(reference).content:
            return _NO_REFERENCE
        cleaned = strip_hedges(answer)
        if not read(cleaned).content:
            return _NO_ANSWER
        comparison = compare(
            question=question, reference=reference, answer=cleaned, thresholds=self.thresholds
        )
        grade = decide(comparison, self.thresholds)
        logger.debug(
            "offline grade %s, score %.2f, signals %s",
            grade.verdict,
            grade.score,
            comparison.signals,
        )
        return grade

    async def grade(self, *, question: str, reference: str, answer: str) -> FreeTextGrade:
        return self.grade_sync(question=question, reference=reference, answer=answer)
