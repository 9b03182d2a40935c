"""What a grade is, what grades free text, and the offline grader's band limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

Verdict = Literal["correct", "unsure", "incorrect"]
VERDICTS: tuple[Verdict, ...] = ("correct", "unsure", "incorrect")


@dataclass(frozen=True, kw_only=True)
class FreeTextGrade:
    """One graded answer.

    `score` in [0, 1] is how well the answer matches (1.0 or 0.0 for multiple choice; the
    overlap score for the offline grader); `verdict` is the decision, and `feedback` is
    shown to the learner.
    """

    verdict: Verdict
    score: float
    feedback: str

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, not {self.verdict!r}")
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score must be in [0, 1], not {self.score!r}")


class FreeTextGrader(Protocol):
    """Grades a free-text answer against the question's reference answer."""

    async def grade(self, *, question: str, reference: str, answer: str) -> FreeTextGrade: ...


@dataclass(frozen=True, kw_only=True)
class GraderThresholds:
    """Band limits of `OfflineGrader` (scores and similarities are in [0, 1])."""

    correct: float = 0.7
    """Overlap score from which an answer with no change-of-meaning signal is correct."""
    incorrect: float = 0.35
    """Overlap score below which an answer is incorrect, unless it is a partial answer."""
    partial_precision: float = 0.75
    """A low-scoring answer that has a key word, and of whose content words at least this
    fraction are in the reference or question, is partial: unsure, not incorrect."""
    short_answer: int = 3
    """An answer with at most this many content words is short (terse)..."""
    short_precision: float = 0.5
    """...and for it `partial_precision` is this ("Making ATP." for "... produce ATP")."""
    near_copy: float = 0.5
    """Word-sequence similarity from which an answer counts as the reference sentence
    edited: a reference word put in the place of another is then a change-of-meaning
    signal ("right" for "left", "glucose" for "ATP")."""
    moved_copy: float = 0.7
    """Similarity from which a key term moved far from its place is a signal."""
    close_copy: float = 0.8
    """Similarity from which a content word replaced by a new word is a signal ("tuple"
    for "list"). Lower, and synonyms in restated answers would be flagged."""


GRADER_THRESHOLDS = GraderThresholds()

CHAR_WEIGHT = 0.2
"""Weight of the character n-gram cosine in the overlap score (the rest is key recall)."""
