"""Lesson generation (async and sync) and reading a lesson."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict

from ultudy.api.deps import Caller, Schedule, State, accept, run_now
from ultudy.api.schemas import JobAccepted
from ultudy.db.study import get_lesson, get_section
from ultudy.errors import NotFoundError
from ultudy.kinds import JobType

router = APIRouter(prefix="/lessons", tags=["lessons"])


class GenerateLesson(BaseModel):
    model_config = ConfigDict(extra="forbid")
    document_id: uuid.UUID
    section_id: uuid.UUID


async def _checked_input(body: GenerateLesson, state: State, owner_id: str) -> dict[str, Any]:
    async with state.db.transaction(owner_id) as conn:
        section = await get_section(conn, owner_id, body.document_id, body.section_id)
    if section is None:
        raise NotFoundError("No such section in that document")
    return {"document_id": str(body.document_id), "section_id": str(body.section_id)}


@router.post(
    "/generate-async",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobAccepted,
    summary="Generate a lesson for a section in the background",
)
async def generate_async(
    body: GenerateLesson, state: State, caller: Caller, schedule: Schedule
) -> JobAccepted:
    job_input = await _checked_input(body, state, caller.user_id)
    return await accept(state, caller, JobType.LESSON_GENERATION, job_input, schedule)


@router.post("/generate", summary="Generate a lesson and wait for it (sync)")
async def generate_sync(body: GenerateLesson, state: State, caller: Caller) -> dict[str, Any]:
    job_input = await _checked_input(body, state, caller.user_id)
    return await run_now(state, caller, JobType.LESSON_GENERATION, job_input)


@router.get("/{lesson_id}", summary="A lesson (without its answer key)")
async def lesson(lesson_id: uuid.UUID, state: State, caller: Caller) -> dict[str, Any]:
    async with state.db.transaction(caller.user_id) as conn:
        found = await get_lesson(conn, caller.user_id, lesson_id)
    if found is None:
        raise NotFoundError("Lesson not found")
    return found
