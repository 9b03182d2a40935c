"""Comparing an answer with the reference answer, and the band the comparison falls in."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from ultudy.study.grading.model import (
    CHAR_WEIGHT,
    GRADER_THRESHOLDS,
    FreeTextGrade,
    GraderThresholds,
)
from ultudy.study.grading.reading import quoted, read, surface_words, vocabulary_of
from ultudy.study.grading.signals import meaning_signals


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """What the offline grader measured for one answer (for the bands, tests, benches)."""

    recall: float
    """Fraction of the reference's key content words (those not in the question) that the
    answer has; all its content words if the question has them all."""
    precision: float
    """Fraction of the answer's content words that are in the reference or the question."""
    char_cosine: float
    """Cosine of character 2-4-gram term frequencies of answer and reference."""
    score: float
    """The overlap score the bands are cut on."""
    signals: tuple[str, ...]
    """Learner-facing reasons to doubt that the answer means what the reference means."""
    missing: tuple[str, ...]
    """Key words of the reference that the answer does not have."""
    shared_key: int
    """How many key words the answer has."""
    answer_words: int
    """How many different content words the answer has."""


def _char_ngrams(text: str) -> Counter[str]:
    """Character 2-4-grams inside space-padded words (scikit-learn's "char_wb")."""
    grams: Counter[str] = Counter()
    for word in text.lower().split():
        padded = f" {word} "
        for n in range(2, min(4, len(padded)) + 1):
            grams.update(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams


def _char_cosine(reference: str, answer: str) -> float:
    """Cosine of the answer's and reference's character n-grams (log-scaled counts)."""
    first, second = (
        {gram: 1 + math.log(count) for gram, count in _char_ngrams(text).items()}
        for text in (reference, answer)
    )
    dot = sum(weight * second.get(gram, 0.0) for gram, weight in first.items())
    norms = math.sqrt(sum(w * w for w in first.values()) * sum(w * w for w in second.values()))
    return dot / norms if norms else 0.0


def compare(
    *, question: str, reference: str, answer: str, thresholds: GraderThresholds = GRADER_THRESHOLDS
) -> Comparison:
    """Measure an answer (hedges already stripped) against the reference answer."""
    vocabulary = vocabulary_of(reference, answer)
    ref, ans = read(reference, vocabulary), read(answer, vocabulary)
    asked = read(question).content
    key = (ref.content - asked) or ref.content
    shared_key = key & ans.content
    recall = len(shared_key) / len(key) if key else 0.0
    known = ref.content | asked
    precision = len(ans.content & known) / len(ans.content) if ans.content else 0.0
    cosine = _char_cosine(reference, answer)
    return Comparison(
        recall=recall,
        precision=precision,
        char_cosine=cosine,
        score=min(1.0, max(0.0, (1 - CHAR_WEIGHT) * recall + CHAR_WEIGHT * cosine)),
        signals=meaning_signals(ref, ans, thresholds),
        missing=tuple(surface_words(ref, key - ans.content)),
        shared_key=len(shared_key),
        answer_words=len(ans.content),
    )


_SELF_JUDGE = "Compare it with the reference answer and judge it yourself."


def _correct(comparison: Comparison) -> FreeTextGrade:
    feedback = "Correct: your answer covers the key points of the reference answer."
    if comparison.missing:
        feedback += f" You could also mention {quoted(comparison.missing[:3])}."
    return FreeTextGrade(verdict="correct", score=comparison.score, feedback=feedback)


def _unsure(comparison: Comparison) -> FreeTextGrade:
    if comparison.signals:
        reason = (
            "Your answer uses the words of the reference answer, but it may change the "
            f"meaning: {comparison.signals[0]}."
        )
    else:
        reason = "Your answer matches part of the reference answer, but not enough to be sure"
        if comparison.missing:
            reason += f" (it does not mention {quoted(comparison.missing[:3])})"
        reason += "."
    return FreeTextGrade(
        verdict="unsure", score=comparison.score, feedback=f"{reason} {_SELF_JUDGE}"
    )


def _incorrect(comparison: Comparison) -> FreeTextGrade:
    feedback = "Not quite: your answer does not match the key points of the reference answer"
    if comparison.missing:
        feedback += f" (it does not mention {quoted(comparison.missing[:4])})"
    return FreeTextGrade(verdict="incorrect", score=comparison.score, feedback=f"{feedback}.")


def decide(
    comparison: Comparison, thresholds: GraderThresholds = GRADER_THRESHOLDS
) -> FreeTextGrade:
    """The band for a measured answer."""
    if comparison.score >= thresholds.correct:
        return _unsure(comparison) if comparison.signals else _correct(comparison)
    if comparison.score >= thresholds.incorrect:
        return _unsure(comparison)
    short = comparison.answer_words <= thresholds.short_answer
    floor = thresholds.short_precision if short else thresholds.partial_precision
    partial = comparison.shared_key > 0 and comparison.precision >= floor
    return _unsure(comparison) if partial else _incorrect(comparison)
