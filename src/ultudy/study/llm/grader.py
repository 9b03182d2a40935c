"""The free-text grader that asks a language model (beside `grading.OfflineGrader`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ultudy.study.grading import FreeTextGrade
from ultudy.study.llm.ask import Asking, Request


class _GradeAnswer(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    verdict: Literal["correct", "unsure", "incorrect"]
    score: float = Field(ge=0.0, le=1.0)
    feedback: str = Field(min_length=1)


GRADE_SCHEMA: dict[str, Any] = {
    "title": "grade",
    "type": "object",
    "properties": {
        "verdict": {"type": "string", "enum": ["correct", "unsure", "incorrect"]},
        "score": {"type": "number"},
        "feedback": {"type": "string"},
    },
    "required": ["verdict", "score", "feedback"],
    "additionalProperties": False,
}
"""The grade's JSON schema."""


GRADE_SYSTEM = (
    "You grade a student's short answer against a reference answer. Judge the meaning, not "
    "the wording. Answer with a single JSON object that follows the given schema."
)


def grade_prompt(*, question: str, reference: str, answer: str) -> str:
    return (
        "verdict: 'correct' if the answer states the key idea of the reference, 'incorrect' "
        "if it is wrong or off-topic, 'unsure' if it is partly right or too vague to tell.\n"
        "score: from 0 (nothing right) to 1 (fully right).\n"
        "feedback: one or two sentences to the student: what is right, what is missing.\n\n"
        f"<question>\n{question}\n</question>\n"
        f"<reference>\n{reference}\n</reference>\n"
        f"<answer>\n{answer}\n</answer>"
    )


class LLMGrader(Asking):
    """Grades free-text answers with a language model."""

    async def grade(self, *, question: str, reference: str, answer: str) -> FreeTextGrade:
        if not answer.strip():
            return FreeTextGrade(verdict="incorrect", score=0.0, feedback="No answer was given.")
        request = Request(
            what="grade",
            system=GRADE_SYSTEM,
            prompt=grade_prompt(question=question, reference=reference, answer=answer),
            schema=GRADE_SCHEMA,
        )
        result = await self._ask(request, _GradeAnswer)
        return FreeTextGrade(verdict=result.verdict, score=result.score, feedback=result.feedback)
