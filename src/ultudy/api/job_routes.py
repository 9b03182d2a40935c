"""The async/sync twins of a job-submitting endpoint, made by one factory.

`POST {path}-async` records and queues the job and answers 202 with its id; `POST {path}`
runs the same job in the API process and answers its result. Both take the same request:
`parse`, a FastAPI dependency, only reads it (so that every parameter, the scheduling
query included, is validated before anything happens), then `prepare` checks it against
the caller's data and makes the job's input (it may store things: `discard` removes them
when the async submit is refused).
"""

# No `from __future__ import annotations`: FastAPI reads the endpoints' annotations, and
# `Parsed` is local to the factory, where a string annotation could not be resolved.

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel

from ultudy.api.deps import Caller, Schedule, State, accept, run_now
from ultudy.api.schemas import JobAccepted
from ultudy.api.schemas.errors import errors
from ultudy.api.state import AppState
from ultudy.kinds import JobType

Prepare = Callable[[AppState, str, Any], Awaitable[dict[str, Any]]]
Discard = Callable[[AppState, dict[str, Any]], Awaitable[None]]


async def _keep(_state: AppState, _job_input: dict[str, Any]) -> None:
    return None


def add_job_routes(
    router: APIRouter,
    path: str,
    *,
    job_type: JobType,
    parse: Callable[..., Any],
    prepare: Prepare,
    result_model: type[BaseModel],
    summaries: tuple[str, str],
    name: str,
    discard: Discard = _keep,
    responses: tuple[int, ...] = (),
) -> None:
    """Register both twins on `router`; `summaries` is (async, sync), `responses` the
    error statuses `prepare` can answer besides the usual ones (api/openapi.py)."""
    Parsed = Annotated[Any, Depends(parse)]

    @router.post(
        f"{path}-async",
        status_code=status.HTTP_202_ACCEPTED,
        name=f"{name}_async",
        response_model=JobAccepted,
        summary=summaries[0],
        responses=errors(404, 429, *responses),  # 404: a job in depends_on
    )
    async def submit_async(
        request: Parsed, state: State, caller: Caller, schedule: Schedule
    ) -> JobAccepted:
        job_input = await prepare(state, caller.user_id, request)
        try:
            return await accept(state, caller, job_type, job_input, schedule)
        except Exception:
            await discard(state, job_input)  # refused or not recorded: nobody will read it
            raise

    # 409: the job was cancelled (POST /jobs/{id}/cancel) while it ran.
    @router.post(
        path,
        name=f"{name}_sync",
        response_model=result_model,
        response_model_exclude_unset=True,
        summary=summaries[1],
        responses=errors(409, *responses),
    )
    async def submit_sync(request: Parsed, state: State, caller: Caller) -> dict[str, Any]:
        job_input = await prepare(state, caller.user_id, request)
        return await run_now(state, caller, job_type, job_input)
