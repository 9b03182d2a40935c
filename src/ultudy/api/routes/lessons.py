"""Lesson generation (async and sync) and reading a lesson."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from ultudy.api.deps import Caller, State
from ultudy.api.job_routes import add_job_routes
from ultudy.api.schemas.lessons import GeneratedLesson, LessonOut
from ultudy.api.state import AppState
from ultudy.db.study import get_lesson, section_exists
from ultudy.errors import NotFoundError
from ultudy.kinds import JobType

router = APIRouter(prefix="/lessons", tags=["lessons"])


class GenerateLesson(BaseModel):
    model_config = ConfigDict(extra="forbid")
    document_id: uuid.UUID
    section_id: uuid.UUID


async def _parse(body: GenerateLesson) -> GenerateLesson:
    return body


async def checked_input(state: AppState, owner_id: str, body: GenerateLesson) -> dict[str, Any]:
    async def check() -> bool:
        async with state.db.transaction(owner_id) as conn:
            return await section_exists(conn, owner_id, body.document_id, body.section_id)

    key = (owner_id, body.document_id, body.section_id)
    if not await state.sections_seen.confirmed(key, check):  # api/seen.py: why a yes stands
        raise NotFoundError("No such section in that document")
    return {"document_id": str(body.document_id), "section_id": str(body.section_id)}


add_job_routes(
    router,
    "/generate",
    job_type=JobType.LESSON_GENERATION,
    parse=_parse,
    prepare=checked_input,
    result_model=GeneratedLesson,
    name="generate",
    responses=(404,),
    summaries=(
        "Generate a lesson for a section in the background",
        "Generate a lesson and wait for it (sync)",
    ),
)


@router.get(
    "/{lesson_id}",
    response_model=LessonOut,
    response_model_exclude_unset=True,
    summary="A lesson (without its answer key)",
)
async def lesson(lesson_id: uuid.UUID, state: State, caller: Caller) -> LessonOut:
    async with state.db.transaction(caller.user_id) as conn:
        found = await get_lesson(conn, caller.user_id, lesson_id)
    if found is None:
        raise NotFoundError("Lesson not found")
    return LessonOut.of(found)
