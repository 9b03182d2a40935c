"""Lessons (never with their answer key) and the sync generation's result."""

from __future__ import annotations

from pydantic import BaseModel


class ConceptOut(BaseModel):
    id: str
    name: str
    explanation: str


class QuestionOut(BaseModel):
    """A question without its answer key; `choices` only on multiple-choice ones (the
    routes answer with `response_model_exclude_unset`, so a free-text question has none)."""

    id: str
    type: str
    prompt: str
    concept_id: str
    choices: list[str] | None = None


class LessonOut(BaseModel):
    lesson_id: str
    section_id: str
    document_id: str
    section_title: str
    engine: str
    summary: str
    concepts: list[ConceptOut]
    questions: list[QuestionOut]


class GeneratedLesson(BaseModel):
    """A lesson generation job's result; `cached` when the section's lesson existed."""

    cached: bool
    lesson_id: str
    summary: str
    concepts: list[ConceptOut]
    questions: list[QuestionOut]
