"""The free-text grader that asks a language model (beside `grading.OfflineGrader`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ultudy.study.grading import FreeTextGrade
from ultudy.study.llm.ask import Request, ask
from ultudy.study.llm.client import LLMClient


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


class LLMGrader:
    """Grades free-text answers with a language model."""

    def __init__(self, client: LLMClient, *, max_attempts: int = 3, backoff_s: float = 0.5):
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.name = f"{client.name}"
        self._client = client
        self._max_attempts = max_attempts
        self._backoff_s = backoff_s

    async def grade(self, *, question: str, reference: str, answer: str) -> FreeTextGrade:
        if not answer.strip():
            return FreeTextGrade(verdict="incorrect", score=0.0, feedback="No answer was given.")
        request = Request(
            what="grade",
            system=GRADE_SYSTEM,
            prompt=grade_prompt(question=question, reference=reference, answer=answer),
            schema=GRADE_SCHEMA,
        )
        result = await ask(
            self._client,
            request,
            _GradeAnswer,
            max_attempts=self._max_attempts,
            backoff_s=self._backoff_s,
        )
        return FreeTextGrade(verdict=result.verdict, score=result.score, feedback=result.feedback)
