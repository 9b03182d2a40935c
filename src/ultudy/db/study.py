"""Reads and writes of the study tables, always scoped to one owner."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ultudy.db.effects import insert_once, row_for_job
from ultudy.db.models import (
    check_ins,
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
    conn: AsyncConnection, owner_id: str, document: dict[str, Any],
    rows: Sequence[dict[str, Any]], *, job_id: uuid.UUID | None = None,
) -> uuid.UUID:  # fmt: skip
    """The new document's id; if `job_id` already wrote one, that one's (nothing added)."""
    doc_id = uuid.uuid4()
    values = {"id": doc_id, "owner_id": owner_id, "created_at": utcnow(), "job_id": job_id,
              **document}  # fmt: skip
    if not await insert_once(conn, documents, values):
        # Only the job id can collide (the id is new): the job's first run wrote it.
        existing: uuid.UUID = (await row_for_job(conn, documents, owner_id, job_id)).id
        return existing
    if rows:
        await conn.execute(insert(sections), [
            {"id": row.get("id", uuid.uuid4()), "document_id": doc_id, "owner_id": owner_id,
             "position": i, **{k: v for k, v in row.items() if k != "id"}}
            for i, row in enumerate(rows)
        ])  # fmt: skip
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
    values = {"id": lesson_id, "owner_id": owner_id, "created_at": utcnow(), "job_id": job_id,
              **lesson}  # fmt: skip
    if not await insert_once(conn, lessons, values):
        existing = await find_lesson(conn, owner_id, lesson["section_id"], lesson["content_hash"],
                                     lesson["engine"])  # fmt: skip
        assert existing is not None, "a lesson insert ignored, yet no lesson with its key"
        return existing
    await conn.execute(insert(concepts), [
        {**c, "lesson_id": lesson_id, "owner_id": owner_id, "position": i}
        for i, c in enumerate(concept_rows)
    ])  # fmt: skip
    if question_rows:
        await conn.execute(insert(questions), [
            {**q, "lesson_id": lesson_id, "owner_id": owner_id, "position": i}
            for i, q in enumerate(question_rows)
        ])  # fmt: skip
    await conn.execute(insert(concept_mastery), [
        {"owner_id": owner_id, "concept_id": c["id"], "p_known": p_init, "attempts": 0,
         "correct": 0, "updated_at": utcnow()}
        for c in concept_rows
    ])  # fmt: skip
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


async def mastery_for(
    conn: AsyncConnection, owner_id: str, concept_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Any]:
    query = (
        select(concept_mastery, concepts.c.name)
        .join(concepts, concepts.c.id == concept_mastery.c.concept_id)
        .where(
            concept_mastery.c.owner_id == owner_id, concept_mastery.c.concept_id.in_(concept_ids)
        )
        # Read to be updated: two check-ins on one concept must not both start from the
        # same value (PostgreSQL; SQLite has one writer at a time anyway). One lock
        # order for every caller, so two of them cannot deadlock.
        .order_by(concept_mastery.c.concept_id)
        .with_for_update(of=concept_mastery)
    )
    return {r.concept_id: r for r in await conn.execute(query)}


async def save_mastery(
    conn: AsyncConnection, owner_id: str, concept_id: uuid.UUID, *, p_known: float,
    attempts_delta: int, correct_delta: int,
) -> None:  # fmt: skip
    await conn.execute(
        update(concept_mastery)
        .where(concept_mastery.c.owner_id == owner_id, concept_mastery.c.concept_id == concept_id)
        .values(p_known=p_known, attempts=concept_mastery.c.attempts + attempts_delta,
                correct=concept_mastery.c.correct + correct_delta, updated_at=utcnow())
    )  # fmt: skip


async def list_mastery(conn: AsyncConnection, owner_id: str) -> list[Any]:
    """The owner's mastery rows, each with its concept's `name` and `lesson_id`."""
    query = (
        select(concept_mastery, concepts.c.name, concepts.c.lesson_id)
        .join(concepts, concepts.c.id == concept_mastery.c.concept_id)
        .where(concept_mastery.c.owner_id == owner_id)
        .order_by(concept_mastery.c.updated_at.desc())
    )
    return list(await conn.execute(query))


async def insert_check_in(
    conn: AsyncConnection, owner_id: str, lesson_id: uuid.UUID, answers: list[dict[str, Any]],
    results: list[dict[str, Any]], score: float, *, job_id: uuid.UUID | None = None,
) -> uuid.UUID | None:  # fmt: skip
    """The new check-in's id; None when `job_id` already wrote its check-in."""
    check_in_id = uuid.uuid4()
    inserted = await insert_once(conn, check_ins, {
        "id": check_in_id, "owner_id": owner_id, "lesson_id": lesson_id, "answers": answers,
        "results": results, "score": score, "created_at": utcnow(), "job_id": job_id,
    })  # fmt: skip
    return check_in_id if inserted else None


async def set_check_in_mastery(
    conn: AsyncConnection, check_in_id: uuid.UUID, mastery: list[dict[str, Any]]
) -> None:
    await conn.execute(update(check_ins).where(check_ins.c.id == check_in_id)
                       .values(mastery=mastery))  # fmt: skip


async def get_check_in(conn: AsyncConnection, owner_id: str, check_in_id: uuid.UUID) -> Any:
    query = select(check_ins).where(check_ins.c.id == check_in_id, check_ins.c.owner_id == owner_id)
    return (await conn.execute(query)).one_or_none()


async def update_check_in(
    conn: AsyncConnection, check_in_id: uuid.UUID, results: list[dict[str, Any]], score: float
) -> None:
    await conn.execute(
        update(check_ins).where(check_ins.c.id == check_in_id).values(results=results, score=score)
    )
