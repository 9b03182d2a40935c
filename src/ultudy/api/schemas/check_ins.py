"""A graded check-in (the sync submit's and the self-assessment's answer) and mastery."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ultudy.api.schemas.common import iso


class GradedAnswer(BaseModel):
    """One answer's grade. `correct` is None while an `unsure` answer awaits the learner's
    own judgement; such a row carries `reference_answer`, and `self_assessed` once judged
    (both absent otherwise: the routes answer with `response_model_exclude_unset`)."""

    question_id: str
    verdict: str
    correct: bool | None
    score: float
    feedback: str
    concept_id: str
    type: str
    reference_answer: str | None = None
    self_assessed: bool | None = None


class MasteryChange(BaseModel):
    concept_id: str
    name: str
    before: float
    after: float


class CheckInResult(BaseModel):
    check_in_id: str
    score: float
    results: list[GradedAnswer]
    mastery: list[MasteryChange]


class MasteryOut(BaseModel):
    concept_id: str
    name: str
    p_known: float
    attempts: int
    correct: int
    lesson_id: str
    updated_at: str | None

    @classmethod
    def of(cls, row: Any) -> MasteryOut:
        return cls(
            concept_id=str(row.concept_id),
            name=row.name,
            p_known=round(row.p_known, 4),
            attempts=row.attempts,
            correct=row.correct,
            lesson_id=str(row.lesson_id),
            updated_at=iso(row.updated_at),
        )


class MasteryList(BaseModel):
    mastery: list[MasteryOut]
