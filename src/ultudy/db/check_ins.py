"""Reads and writes of check-ins and concept mastery, always scoped to one owner."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ultudy.db.effects import insert_once
from ultudy.db.models import check_ins, concept_mastery, concepts
from ultudy.db.types import utcnow


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
    conn: AsyncConnection,
    owner_id: str,
    concept_id: uuid.UUID,
    *,
    p_known: float,
    attempts_delta: int,
    correct_delta: int,
) -> None:
    await conn.execute(
        update(concept_mastery)
        .where(concept_mastery.c.owner_id == owner_id, concept_mastery.c.concept_id == concept_id)
        .values(
            p_known=p_known,
            attempts=concept_mastery.c.attempts + attempts_delta,
            correct=concept_mastery.c.correct + correct_delta,
            updated_at=utcnow(),
        )
    )


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
    conn: AsyncConnection,
    owner_id: str,
    lesson_id: uuid.UUID,
    answers: list[dict[str, Any]],
    results: list[dict[str, Any]],
    score: float,
    *,
    job_id: uuid.UUID | None = None,
) -> uuid.UUID | None:
    """The new check-in's id; None when `job_id` already wrote its check-in."""
    check_in_id = uuid.uuid4()
    inserted = await insert_once(
        conn,
        check_ins,
        {
            "id": check_in_id,
            "owner_id": owner_id,
            "lesson_id": lesson_id,
            "answers": answers,
            "results": results,
            "score": score,
            "created_at": utcnow(),
            "job_id": job_id,
        },
    )
    return check_in_id if inserted else None


async def set_check_in_mastery(
    conn: AsyncConnection, check_in_id: uuid.UUID, mastery: list[dict[str, Any]]
) -> None:
    await conn.execute(
        update(check_ins).where(check_ins.c.id == check_in_id).values(mastery=mastery)
    )


async def get_check_in(conn: AsyncConnection, owner_id: str, check_in_id: uuid.UUID) -> Any:
    query = select(check_ins).where(check_ins.c.id == check_in_id, check_ins.c.owner_id == owner_id)
    return (await conn.execute(query)).one_or_none()


async def update_check_in(
    conn: AsyncConnection, check_in_id: uuid.UUID, results: list[dict[str, Any]], score: float
) -> None:
    await conn.execute(
        update(check_ins).where(check_ins.c.id == check_in_id).values(results=results, score=score)
    )
