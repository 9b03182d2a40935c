"""Check-ins: submit answers (async and sync), judge an `unsure` answer yourself."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ultudy.api.deps import Caller, State
from ultudy.api.job_routes import add_job_routes
from ultudy.api.schemas.check_ins import CheckInResult
from ultudy.api.state import AppState
from ultudy.db.check_ins import get_check_in
from ultudy.db.study import lesson_questions
from ultudy.errors import JobInputError, NotFoundError
from ultudy.kinds import JobType
from ultudy.services.check_ins import self_assess

router = APIRouter(prefix="/check-ins", tags=["check-ins"])

MAX_ANSWER_CHARS = 5000


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question_id: uuid.UUID
    answer: int | Annotated[str, StringConstraints(max_length=MAX_ANSWER_CHARS)]


class SubmitCheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lesson_id: uuid.UUID
    answers: list[Answer] = Field(max_length=100)


class SelfAssessment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question_id: uuid.UUID
    correct: bool


async def _parse(body: SubmitCheckIn) -> SubmitCheckIn:
    return body


async def _checked_input(state: AppState, owner_id: str, body: SubmitCheckIn) -> dict[str, Any]:
    if not body.answers:
        raise JobInputError("answers is empty: send at least one {question_id, answer}")
    async with state.db.transaction(owner_id) as conn:
        questions = await lesson_questions(conn, owner_id, body.lesson_id)
    if not questions:
        raise NotFoundError("Lesson not found")
    known = {q.id for q in questions}
    unknown = [str(a.question_id) for a in body.answers if a.question_id not in known]
    if unknown:
        raise JobInputError(f"unknown question id(s) for this lesson: {', '.join(unknown)}")
    ids = [a.question_id for a in body.answers]
    if len(set(ids)) != len(ids):
        raise JobInputError("each question may be answered once per check-in")
    return {
        "lesson_id": str(body.lesson_id),
        "answers": [{"question_id": str(a.question_id), "answer": a.answer} for a in body.answers],
    }


add_job_routes(
    router,
    "/submit",
    job_type=JobType.CHECK_IN_EVALUATION,
    parse=_parse,
    prepare=_checked_input,
    result_model=CheckInResult,
    name="submit",
    responses=(404,),
    summaries=(
        "Grade a check-in in the background",
        "Grade a check-in and wait for the result (sync)",
    ),
)


@router.post(
    "/{check_in_id}/self-assess",
    response_model=CheckInResult,
    response_model_exclude_unset=True,
    summary="Judge an answer graded 'unsure'",
)
async def self_assessment(
    check_in_id: uuid.UUID, body: SelfAssessment, state: State, caller: Caller
) -> dict[str, Any]:
    async with state.db.transaction(caller.user_id) as conn:
        check_in = await get_check_in(conn, caller.user_id, check_in_id)
        if check_in is None:
            raise NotFoundError("Check-in not found")
        return await self_assess(
            conn, caller.user_id, check_in, str(body.question_id), body.correct
        )
