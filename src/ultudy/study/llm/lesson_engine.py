"""The lesson engine that asks a language model (beside `lessons.OfflineLessonEngine`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ultudy.study.lessons import (
    ConceptDraft,
    LessonDraft,
    LessonEngine,
    QuestionDraft,
    SectionInput,
)
from ultudy.study.llm.ask import Asking, Request

MAX_SECTION_CHARS = 24_000


class _ConceptAnswer(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=120)
    explanation: str = Field(min_length=1)


class _QuestionAnswer(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    type: Literal["mcq", "short"]
    prompt: str = Field(min_length=1)
    concept: str = Field(min_length=1)
    choices: list[str] = Field(default_factory=list)
    answer_index: int | None = None
    reference_answer: str | None = None

    @model_validator(mode="after")
    def _check_shape(self) -> _QuestionAnswer:
        if self.type == "mcq":
            if len(self.choices) != 4:
                raise ValueError(f"an mcq needs exactly 4 choices, not {len(self.choices)}")
            if any(not choice for choice in self.choices):
                raise ValueError("an mcq choice is empty")
            if len({choice.casefold() for choice in self.choices}) != 4:
                raise ValueError("the 4 choices of an mcq must differ")
            if self.answer_index is None or not 0 <= self.answer_index < 4:
                raise ValueError(f"an mcq needs an answer_index 0-3, not {self.answer_index}")
        elif not self.reference_answer:
            raise ValueError("a short question needs a reference_answer")
        return self


class _LessonAnswer(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    summary: str = Field(min_length=1)
    concepts: list[_ConceptAnswer] = Field(min_length=1, max_length=15)
    questions: list[_QuestionAnswer] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _check_concepts(self) -> _LessonAnswer:
        names = [concept.name.casefold() for concept in self.concepts]
        if len(set(names)) != len(names):
            raise ValueError("two concepts have the same name")
        for index, question in enumerate(self.questions):
            if question.concept.casefold() not in names:
                raise ValueError(
                    f"question {index} is about {question.concept!r}, which is not a concept"
                )
        return self

    def to_draft(self) -> LessonDraft:
        by_name = {concept.name.casefold(): concept.name for concept in self.concepts}
        return LessonDraft(
            summary=self.summary,
            concepts=tuple(
                ConceptDraft(name=c.name, explanation=c.explanation) for c in self.concepts
            ),
            questions=tuple(
                _question_draft(q, by_name[q.concept.casefold()]) for q in self.questions
            ),
        )


def _question_draft(question: _QuestionAnswer, concept: str) -> QuestionDraft:
    if question.type == "mcq":
        return QuestionDraft(
            type="mcq",
            prompt=question.prompt,
            concept=concept,
            choices=tuple(question.choices),
            answer_index=question.answer_index,
        )
    return QuestionDraft(
        type="short",
        prompt=question.prompt,
        concept=concept,
        reference_answer=question.reference_answer,
    )


def _nullable(kind: str) -> dict[str, Any]:
    return {"type": [kind, "null"]}


LESSON_SCHEMA: dict[str, Any] = {
    "title": "lesson",
    "type": "object",
    "properties": {
        "summary": {"type": "string"},
        "concepts": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "explanation": {"type": "string"}},
                "required": ["name", "explanation"],
                "additionalProperties": False,
            },
        },
        "questions": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "type": {"type": "string", "enum": ["mcq", "short"]},
                    "prompt": {"type": "string"},
                    "concept": {"type": "string"},
                    "choices": {"type": "array", "items": {"type": "string"}},
                    "answer_index": _nullable("integer"),
                    "reference_answer": _nullable("string"),
                },
                "required": [
                    "type",
                    "prompt",
                    "concept",
                    "choices",
                    "answer_index",
                    "reference_answer",
                ],
                "additionalProperties": False,
            },
        },
    },
    "required": ["summary", "concepts", "questions"],
    "additionalProperties": False,
}
"""The lesson's JSON schema (strict-mode compatible: every property required)."""


LESSON_SYSTEM = (
    "You are a careful teacher who writes short study lessons from course material. "
    "Use only facts stated in the material. Answer with a single JSON object that "
    "follows the given schema, and nothing else."
)


def lesson_prompt(section: SectionInput) -> str:
    """The instructions and the section's text (cut to `MAX_SECTION_CHARS`)."""
    text = section.text.strip()
    if len(text) > MAX_SECTION_CHARS:
        text = text[:MAX_SECTION_CHARS] + " […]"
    source = f"Document: {section.document_title}\n" if section.document_title else ""
    return (
        "Write a lesson for this section of a course document.\n"
        "- summary: 3-5 sentences.\n"
        "- concepts: the 5-8 key concepts of the section (fewer if it is short); each with "
        "a 1-3 sentence explanation based on the text.\n"
        "- questions: 3-5 multiple-choice questions (type 'mcq': exactly 4 different "
        "choices, one correct, answer_index is its 0-based position; the wrong choices are "
        "other real terms of the subject; reference_answer null) and 1-3 short free-text "
        "questions (type 'short': choices [], answer_index null, reference_answer a model "
        "answer of 1-2 sentences).\n"
        "- Every question's 'concept' is exactly the name of one of the concepts.\n\n"
        f"{source}Section: {section.title}\n\n<section>\n{text}\n</section>"
    )


class LLMLessonEngine(Asking, LessonEngine):
    """Writes lessons with a language model; invalid answers are asked for again."""

    async def generate(self, section: SectionInput) -> LessonDraft:
        request = Request(
            what="lesson", system=LESSON_SYSTEM, prompt=lesson_prompt(section), schema=LESSON_SCHEMA
        )
        answer = await self._ask(request, _LessonAnswer)
        return answer.to_draft()
