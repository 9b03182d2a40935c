"""Deleting a document: its rows (sections, lessons, concepts, questions, check-ins and
mastery go with it by ON DELETE CASCADE) once no job still works on it."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ultudy.db.models import documents, jobs, lessons, sections

ACTIVE = ("pending", "processing")


async def find_document(conn: AsyncConnection, owner_id: str, document_id: uuid.UUID) -> Any:
    query = select(documents.c.id, documents.c.storage_key).where(
        documents.c.id == document_id, documents.c.owner_id == owner_id
    )
    return (await conn.execute(query)).one_or_none()


async def jobs_working_on(conn: AsyncConnection, owner_id: str, document: Any) -> int:
    """The owner's unfinished jobs that read this document: a lesson for one of its
    sections, a check-in on one of its lessons, its own upload (a redelivery). Compared in
    Python: the inputs are JSON and the unfinished jobs of one owner are few (capped)."""
    lesson_ids = await conn.execute(
        select(lessons.c.id)
        .join(sections, sections.c.id == lessons.c.section_id)
        .where(sections.c.document_id == document.id, sections.c.owner_id == owner_id)
    )
    targets = {str(document.id), document.storage_key, *(str(r.id) for r in lesson_ids)}
    active = await conn.execute(
        select(jobs.c.input_data).where(jobs.c.owner_id == owner_id, jobs.c.status.in_(ACTIVE))
    )
    keys = ("document_id", "lesson_id", "storage_key")
    return sum(1 for (data,) in active if targets & {str(data.get(k)) for k in keys})


async def delete_document(conn: AsyncConnection, owner_id: str, document_id: uuid.UUID) -> None:
    await conn.execute(
        delete(documents).where(documents.c.id == document_id, documents.c.owner_id == owner_id)
    )
