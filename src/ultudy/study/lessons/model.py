"""What a lesson is, and what writes one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol


@dataclass(frozen=True, kw_only=True)
class ConceptDraft:
    """A key concept of a section and what the section says about it."""

    name: str
    explanation: str


@dataclass(frozen=True, kw_only=True)
class QuestionDraft:
    """A check-in question about one concept (`concept` is a `ConceptDraft.name`).

    Multiple choice: `choices` and `answer_index`. Short answer: `reference_answer`.
    """

    type: Literal["mcq", "short"]
    prompt: str
    concept: str
    choices: tuple[str, ...] = ()
    answer_index: int | None = None
    reference_answer: str | None = None


@dataclass(frozen=True, kw_only=True)
class LessonDraft:
    """A generated lesson, before it is stored."""

    summary: str
    concepts: tuple[ConceptDraft, ...]
    questions: tuple[QuestionDraft, ...]


@dataclass(frozen=True, kw_only=True)
class SectionInput:
    """One section of a document; `other_sections` are the texts of the document's others."""

    title: str
    text: str
    document_title: str | None = None
    other_sections: tuple[str, ...] = ()


class LessonEngine(Protocol):
    """Writes a lesson for a section. `name` is stored with the lesson ("offline-v1", ...)."""

    name: str

    async def generate(self, section: SectionInput) -> LessonDraft: ...
