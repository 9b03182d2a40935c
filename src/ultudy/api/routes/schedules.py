"""Repeating schedules: each tick of one makes an ordinary job of the caller's."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ultudy.api.deps import Caller, State
from ultudy.api.routes.lessons import GenerateLesson, checked_input
from ultudy.api.schemas.errors import errors
from ultudy.api.schemas.schedules import ScheduleIn, ScheduleList, ScheduleOut
from ultudy.api.state import AppState
from ultudy.errors import JobInputError
from ultudy.jobs.schedules import Cadence, ScheduleStore
from ultudy.kinds import JobType

router = APIRouter(prefix="/schedules", tags=["schedules"], responses=errors(404))


class ReminderInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since_hours: float = Field(default=24, gt=0, le=24 * 31)


async def _checked_job_input(state: AppState, owner_id: str, body: ScheduleIn) -> dict[str, Any]:
    try:
        if body.job_type == JobType.LESSON_GENERATION.value:
            return await checked_input(state, owner_id, GenerateLesson(**body.input))
        return ReminderInput(**body.input).model_dump()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}" for e in exc.errors()
        )
        raise JobInputError(f"input for {body.job_type}: {problems}") from None


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ScheduleOut,
    summary="Repeat a job on a cron expression or an interval",
)
async def create(body: ScheduleIn, state: State, caller: Caller) -> ScheduleOut:
    settings = state.settings
    cadence = Cadence.checked(
        cron=body.cron,
        interval_s=body.interval_s,
        timezone=body.timezone,
        min_interval_s=settings.schedule_min_interval_s,
    )
    store = ScheduleStore(state.db)
    job_input = await _checked_job_input(state, caller.user_id, body)
    if len(await store.owned(caller.user_id)) >= settings.max_schedules_per_user:
        raise JobInputError(
            f"you have {settings.max_schedules_per_user} schedules already; delete one first"
        )
    record = await store.create(
        owner_id=caller.user_id,
        name=body.name,
        job_type=body.job_type,
        input_data=job_input,
        cadence=cadence,
    )
    return ScheduleOut.of(record)


@router.get("", response_model=ScheduleList, summary="The caller's schedules")
async def listing(state: State, caller: Caller) -> ScheduleList:
    records = await ScheduleStore(state.db).owned(caller.user_id)
    return ScheduleList(schedules=[ScheduleOut.of(r) for r in records])


@router.post("/{schedule_id}/pause", response_model=ScheduleOut, summary="Stop the ticks")
async def pause(schedule_id: uuid.UUID, state: State, caller: Caller) -> ScheduleOut:
    store = ScheduleStore(state.db)
    return ScheduleOut.of(await store.set_paused(caller.user_id, schedule_id, paused=True))


@router.post(
    "/{schedule_id}/resume",
    response_model=ScheduleOut,
    summary="Tick again, from the next tick after now",
)
async def resume(schedule_id: uuid.UUID, state: State, caller: Caller) -> ScheduleOut:
    store = ScheduleStore(state.db)
    return ScheduleOut.of(await store.set_paused(caller.user_id, schedule_id, paused=False))


@router.delete(
    "/{schedule_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a schedule (the jobs it made stay)",
)
async def remove(schedule_id: uuid.UUID, state: State, caller: Caller) -> Response:
    await ScheduleStore(state.db).delete(caller.user_id, schedule_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
