"""Multiple choice, graded exactly."""

from __future__ import annotations

from collections.abc import Sequence

from ultudy.study.grading.model import FreeTextGrade
from ultudy.study.text import folded


def _choice_index(choice: str | int, choices: Sequence[str], answer_index: int) -> int | None:
    """The index the learner picked, from an index or a choice's text (or its number)."""
    if isinstance(choice, bool):
        return None
    if isinstance(choice, int):
        return choice if 0 <= choice < len(choices) else None
    wanted = folded(str(choice))
    if wanted == folded(choices[answer_index]):
        return answer_index
    for index, text in enumerate(choices):
        if folded(text) == wanted:
            return index
    if wanted.isdigit() and int(wanted) < len(choices):
        return int(wanted)
    return None


def grade_mcq(*, choice: str | int, choices: Sequence[str], answer_index: int) -> FreeTextGrade:
    """Grade a multiple choice answer exactly.

    `choice` is the index of the picked choice or its text (compared regardless of case
    and whitespace). A wrong or unknown choice is ``incorrect`` and the feedback names the
    right answer. Raises `ValueError` if `answer_index` is not an index of `choices`.
    """
    if not 0 <= answer_index < len(choices):
        raise ValueError(f"answer_index {answer_index} is outside the {len(choices)} choices")
    right = choices[answer_index]
    picked = _choice_index(choice, choices, answer_index)
    if picked == answer_index:
        return FreeTextGrade(verdict="correct", score=1.0, feedback=f'Correct: "{right}".')
    if picked is None:
        feedback = f'"{choice}" is not one of the choices. The right answer is "{right}".'
    else:
        feedback = f'Not quite: you chose "{choices[picked]}". The right answer is "{right}".'
    return FreeTextGrade(verdict="incorrect", score=0.0, feedback=feedback)
