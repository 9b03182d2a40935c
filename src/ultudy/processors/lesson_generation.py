"""Lesson generation for one section: cached per section content and engine."""

from __future__ import annotations

import uuid
from typing import Any

from ultudy.db.effects import made_by
from ultudy.db.models import lessons
from ultudy.db.study import (
    LessonRows,
    find_lesson,
    get_lesson,
    get_section,
    insert_lesson,
    other_section_texts,
)
from ultudy.errors import NotFoundError
from ultudy.services import StudyContext
from ultudy.study.lessons import LessonDraft, LessonEngine, SectionInput
from ultudy.study.mastery import DEFAULT_PARAMS


def _rows(draft: LessonDraft) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    concept_rows = [
        {"id": uuid.uuid4(), "name": c.name, "explanation": c.explanation} for c in draft.concepts
    ]
    ids = {c["name"]: c["id"] for c in concept_rows}
    question_rows = [
        {
            "id": uuid.uuid4(),
            "concept_id": ids[q.concept],
            "type": q.type,
            "prompt": q.prompt,
            "choices": list(q.choices),
            "answer_index": q.answer_index,
            "reference_answer": q.reference_answer,
        }
        for q in draft.questions
        if q.concept in ids
    ]
    return concept_rows, question_rows


async def _generate(
    ctx: StudyContext, engine: LessonEngine, section: Any, others: tuple[str, ...]
) -> uuid.UUID:
    await ctx.progress(15, f"Writing the lesson ({engine.name})")
    draft = await engine.generate(
        SectionInput(title=section.title, text=section.text, other_sections=others)
    )
    ctx.check_cancelled()
    await ctx.progress(90, "Saving the lesson")
    concept_rows, question_rows = _rows(draft)
    lesson = {
        "section_id": section.id,
        "content_hash": section.content_hash,
        "engine": engine.name,
        "summary": draft.summary,
    }
    async with ctx.services.db.transaction(ctx.owner_id) as conn:
        # A concurrent first generation for this section may have saved its lesson
        # meanwhile: then nothing is added and this job returns that one.
        return await insert_lesson(
            conn,
            ctx.owner_id,
            lesson,
            concept_rows,
            question_rows,
            p_init=DEFAULT_PARAMS.p_init,
            job_id=ctx.job_id,
        )


async def process(ctx: StudyContext, data: dict[str, Any]) -> dict[str, Any]:
    document_id, section_id = uuid.UUID(data["document_id"]), uuid.UUID(data["section_id"])
    engine = ctx.services.engines.lesson_engine
    await ctx.progress(5, "Reading the section")
    db = ctx.services.db
    async with db.transaction(ctx.owner_id) as conn:
        section = await get_section(conn, ctx.owner_id, document_id, section_id)
        if section is None:
            raise NotFoundError("That section no longer exists.")
        lesson_id = await find_lesson(
            conn, ctx.owner_id, section_id, section.content_hash, engine.name
        )
        others = (
            ()
            if lesson_id
            else tuple(await other_section_texts(conn, ctx.owner_id, document_id, section_id))
        )
    if lesson_id is None:
        lesson_id = await _generate(ctx, engine, section, others)
    async with db.transaction(ctx.owner_id) as conn:
        result = await get_lesson(conn, ctx.owner_id, lesson_id)
        # Cached unless this job made it, in this run or an earlier one: a job run again
        # (at-least-once delivery) returns its first run's result.
        cached = await made_by(conn, lessons, lesson_id) != ctx.job_id
    assert result is not None
    return _result(result, cached=cached)


def _result(found: LessonRows, *, cached: bool) -> dict[str, Any]:
    """The job's result (the sync answer, api/schemas/lessons.py GeneratedLesson): the
    questions without their answer keys."""
    return {
        "cached": cached,
        "lesson_id": str(found.lesson.id),
        "summary": found.lesson.summary,
        "concepts": [
            {"id": str(c.id), "name": c.name, "explanation": c.explanation} for c in found.concepts
        ],
        "questions": [_public_question(q) for q in found.questions],
    }


def _public_question(q: Any) -> dict[str, Any]:
    out = {"id": str(q.id), "type": q.type, "prompt": q.prompt, "concept_id": str(q.concept_id)}
    if q.type == "mcq":
        out["choices"] = list(q.choices)
    return out
