"""Reads and writes of the study tables, always scoped to one owner."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ultudy.db.effects import insert_once, row_for_job
from ultudy.db.models import (
    concept_mastery,
    concepts,
    documents,
    lessons,
    questions,
    sections,
)
from ultudy.db.types import utcnow


@dataclass(frozen=True, kw_only=True)
class DocumentRows:
    """A document's row and its sections' (each with `lesson_id`, its newest lesson)."""

    document: Any
    sections: list[Any]


@dataclass(frozen=True, kw_only=True)
class LessonRows:
    """A lesson's row (with its section's `document_id` and `section_title`), its concepts
    and its questions, answer keys included: the caller decides what to show."""

    lesson: Any
    concepts: list[Any]
    questions: list[Any]


async def insert_document(
    conn: AsyncConnection,
    owner_id: str,
    document: dict[str, Any],
    rows: Sequence[dict[str, Any]],
    *,
    job_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """The new document's id; if `job_id` already wrote one, that one's (nothing added)."""
    doc_id = uuid.uuid4()
    values = {
        "id": doc_id,
        "owner_id": owner_id,
        "created_at": utcnow(),
        "job_id": job_id,
        **document,
    }
    if not await insert_once(conn, documents, values):
        # Only the job id can collide (the id is new): the job's first run wrote it.
        existing: uuid.UUID = (await row_for_job(conn, documents, owner_id, job_id)).id
        return existing
    if rows:
        await conn.execute(
            insert(sections),
            [
                {
                    "id": row.get("id", uuid.uuid4()),
                    "document_id": doc_id,
                    "owner_id": owner_id,
                    "position": i,
                    **{k: v for k, v in row.items() if k != "id"},
                }
                for i, row in enumerate(rows)
            ],
        )
    return doc_id


async def list_documents(conn: AsyncConnection, owner_id: str) -> list[Any]:
    """The owner's documents, newest first, each with its `section_count`."""
    count = (
        select(func.count())
        .where(sections.c.document_id == documents.c.id)
        .correlate(documents)
        .scalar_subquery()
    )
    query = (
        select(documents, count.label("section_count"))
        .where(documents.c.owner_id == owner_id)
        .order_by(documents.c.created_at.desc())
    )
    return list(await conn.execute(query))


async def get_document(
    conn: AsyncConnection, owner_id: str, document_id: uuid.UUID
) -> DocumentRows | None:
    doc = (
        await conn.execute(
            select(documents).where(documents.c.id == document_id, documents.c.owner_id == owner_id)
        )
    ).one_or_none()
    if doc is None:
        return None
    latest = (
        select(lessons.c.id)
        .where(lessons.c.section_id == sections.c.id, lessons.c.owner_id == owner_id)
        .order_by(lessons.c.created_at.desc())
        .limit(1)
        .correlate(sections)
        .scalar_subquery()
    )
    rows = await conn.execute(
        select(sections, latest.label("lesson_id"))
        .where(sections.c.document_id == document_id, sections.c.owner_id == owner_id)
        .order_by(sections.c.position)
    )
    return DocumentRows(document=doc, sections=list(rows))


async def get_section(
    conn: AsyncConnection, owner_id: str, document_id: uuid.UUID, section_id: uuid.UUID
) -> Any:
    query = select(sections).where(
        sections.c.id == section_id,
        sections.c.document_id == document_id,
        sections.c.owner_id == owner_id,
    )
    return (await conn.execute(query)).one_or_none()


async def section_exists(
    conn: AsyncConnection, owner_id: str, document_id: uuid.UUID, section_id: uuid.UUID
) -> bool:
    """Whether the owner's document has the section (its id only: no text read)."""
    query = select(sections.c.id).where(
        sections.c.id == section_id,
        sections.c.document_id == document_id,
        sections.c.owner_id == owner_id,
    )
    return (await conn.execute(query)).first() is not None


async def other_section_texts(
    conn: AsyncConnection, owner_id: str, document_id: uuid.UUID, section_id: uuid.UUID
) -> list[str]:
    query = select(sections.c.text).where(
        sections.c.document_id == document_id,
        sections.c.owner_id == owner_id,
        sections.c.id != section_id,
    )
    return [r.text for r in await conn.execute(query.order_by(sections.c.position))]


async def find_lesson(
    conn: AsyncConnection, owner_id: str, section_id: uuid.UUID, content_hash: str, engine: str
) -> uuid.UUID | None:
    query = select(lessons.c.id).where(
        lessons.c.section_id == section_id,
        lessons.c.owner_id == owner_id,
        lessons.c.content_hash == content_hash,
        lessons.c.engine == engine,
    )
    return (await conn.execute(query)).scalar_one_or_none()


async def insert_lesson(
    conn: AsyncConnection,
    owner_id: str,
    lesson: dict[str, Any],
    concept_rows: Sequence[dict[str, Any]],
    question_rows: Sequence[dict[str, Any]],
    *,
    p_init: float,
    job_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """The new lesson's id; if one for this section, content and engine was written
    meanwhile (a concurrent generation), that one's, and nothing is added."""
    lesson_id = uuid.uuid4()
    values = {
        "id": lesson_id,
        "owner_id": owner_id,
        "created_at": utcnow(),
        "job_id": job_id,
        **lesson,
    }
    if not await insert_once(conn, lessons, values):
        existing = await find_lesson(
            conn, owner_id, lesson["section_id"], lesson["content_hash"], lesson["engine"]
        )
        assert existing is not None, "a lesson insert ignored, yet no lesson with its key"
        return existing
    await conn.execute(
        insert(concepts),
        [
            {**c, "lesson_id": lesson_id, "owner_id": owner_id, "position": i}
            for i, c in enumerate(concept_rows)
        ],
    )
    if question_rows:
        await conn.execute(
            insert(questions),
            [
                {**q, "lesson_id": lesson_id, "owner_id": owner_id, "position": i}
                for i, q in enumerate(question_rows)
            ],
        )
    await conn.execute(
        insert(concept_mastery),
        [
            {
                "owner_id": owner_id,
                "concept_id": c["id"],
                "p_known": p_init,
                "attempts": 0,
                "correct": 0,
                "updated_at": utcnow(),
            }
            for c in concept_rows
        ],
    )
    return lesson_id


async def get_lesson(
    conn: AsyncConnection, owner_id: str, lesson_id: uuid.UUID
) -> LessonRows | None:
    row = (
        await conn.execute(
            select(lessons, sections.c.document_id, sections.c.title.label("section_title"))
            .join(sections, sections.c.id == lessons.c.section_id)
            .where(lessons.c.id == lesson_id, lessons.c.owner_id == owner_id)
        )
    ).one_or_none()
    if row is None:
        return None
    concept_rows = await conn.execute(
        select(concepts).where(concepts.c.lesson_id == lesson_id).order_by(concepts.c.position)
    )
    question_rows = await lesson_questions(conn, owner_id, lesson_id)
    return LessonRows(lesson=row, concepts=list(concept_rows), questions=question_rows)


async def lesson_questions(conn: AsyncConnection, owner_id: str, lesson_id: uuid.UUID) -> list[Any]:
    query = (
        select(questions)
        .where(questions.c.lesson_id == lesson_id, questions.c.owner_id == owner_id)
        .order_by(questions.c.position)
    )
    return list(await conn.execute(query))
