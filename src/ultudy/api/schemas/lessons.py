"""Lessons (never with their answer key) and the sync generation's result."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ultudy.db.study import LessonRows


class ConceptOut(BaseModel):
    id: str
    name: str
    explanation: str

    @classmethod
    def of(cls, row: Any) -> ConceptOut:
        return cls(id=str(row.id), name=row.name, explanation=row.explanation)


class QuestionOut(BaseModel):
    """A question without its answer key; `choices` only on multiple-choice ones (the
    routes answer with `response_model_exclude_unset`, so a free-text question has none)."""

    id: str
    type: str
    prompt: str
    concept_id: str
    choices: list[str] | None = None

    @classmethod
    def of(cls, row: Any) -> QuestionOut:
        mcq = {"choices": list(row.choices)} if row.type == "mcq" else {}
        return cls(
            id=str(row.id), type=row.type, prompt=row.prompt, concept_id=str(row.concept_id), **mcq
        )


class LessonOut(BaseModel):
    lesson_id: str
    section_id: str
    document_id: str
    section_title: str
    engine: str
    summary: str
    concepts: list[ConceptOut]
    questions: list[QuestionOut]

    @classmethod
    def of(cls, found: LessonRows) -> LessonOut:
        row = found.lesson
        return cls(
            lesson_id=str(row.id),
            section_id=str(row.section_id),
            document_id=str(row.document_id),
            section_title=row.section_title,
            engine=row.engine,
            summary=row.summary,
            concepts=[ConceptOut.of(c) for c in found.concepts],
            questions=[QuestionOut.of(q) for q in found.questions],
        )


class GeneratedLesson(BaseModel):
    """A lesson generation job's result; `cached` when the section's lesson existed."""

    cached: bool
    lesson_id: str
    summary: str
    concepts: list[ConceptOut]
    questions: list[QuestionOut]
