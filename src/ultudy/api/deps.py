"""FastAPI dependencies as `Annotated` aliases.

Every dependency is `async def`, even when it does not await: FastAPI runs a plain `def`
dependency in a worker thread, a thread-pool hop per dependency per request (measured:
bench/http_enqueue.py, README "Measured")."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query, Request, Security, status
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from ultudy.api.auth import SESSION_COOKIE, AuthError, Identity
from ultudy.api.authn import CHALLENGE, outcome
from ultudy.api.schemas import JobAccepted
from ultudy.api.state import AppState
from ultudy.db.types import utcnow
from ultudy.errors import JobInputError
from ultudy.jobs.dependencies import MAX_DEPENDENCIES
from ultudy.jobs.service import JobService


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.ultudy
    return state


State = Annotated[AppState, Depends(get_state)]


# The credentials api/authn.py accepts, as OpenAPI security schemes (any one will do).
BEARER = HTTPBearer(
    scheme_name="bearerToken",
    description="ULTUDY_AUTH=token: a token from `ultudy token create NAME`",
    auto_error=False,
)
DEV_USER = APIKeyHeader(
    name="x-user-id",
    scheme_name="devUser",
    description="ULTUDY_AUTH=dev only (loopback): the caller's user id",
    auto_error=False,
)
SESSION = APIKeyCookie(
    name=SESSION_COOKIE,
    scheme_name="sessionCookie",
    description="the browser session POST /session sets",
    auto_error=False,
)


async def get_identity(
    request: Request,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)] = None,
    _dev_user: Annotated[str | None, Security(DEV_USER)] = None,
    _session: Annotated[str | None, Security(SESSION)] = None,
) -> Identity:
    """The caller that api/authn.py resolved before the body was read. The security
    parameters are not read here: they document the credentials in OpenAPI."""
    found = outcome(request.scope)
    if isinstance(found, AuthError):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, found.message, headers=CHALLENGE)
    return found


Caller = Annotated[Identity, Depends(get_identity)]


async def get_admin(caller: Caller) -> Identity:
    if not caller.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this needs an admin token")
    return caller


Admin = Annotated[Identity, Depends(get_admin)]


async def get_jobs(state: State) -> JobService:
    return state.jobs


Jobs = Annotated[JobService, Depends(get_jobs)]


MAX_DELAY_S = 7 * 24 * 3600
MAX_RUN_AT_AHEAD = timedelta(days=30)


@dataclass(frozen=True, kw_only=True)
class Scheduling:
    priority: int
    delay_s: float
    run_at: datetime | None = None
    depends_on: tuple[uuid.UUID, ...] = ()


def _checked_run_at(run_at: datetime | None, delay_s: float) -> datetime | None:
    if run_at is None:
        return None
    if delay_s:
        raise JobInputError("give either delay_s or run_at, not both")
    if run_at.tzinfo is None:
        raise JobInputError(
            "run_at needs a UTC offset (ISO 8601, e.g. 2026-01-31T18:00:00+01:00 or …Z)"
        )
    if run_at - utcnow() > MAX_RUN_AT_AHEAD:
        raise JobInputError("run_at is more than 30 days ahead")
    return run_at


async def get_scheduling(
    priority: Annotated[
        int,
        Query(
            ge=0,
            le=10,
            description=(
                "0 (default) runs first; 1-10 mark background work, taken only when no "
                "default-priority job waits, 1 before 10"
            ),
        ),
    ] = 0,
    delay_s: Annotated[
        float,
        Query(
            ge=0,
            le=MAX_DELAY_S,
            description=("run no earlier than this many seconds from now (at most 7 days)"),
        ),
    ] = 0,
    run_at: Annotated[
        datetime | None,
        Query(
            description=(
                "run no earlier than this time: ISO 8601 with a UTC offset, at most 30 days "
                "ahead; a past time runs now"
            ),
        ),
    ] = None,
    depends_on: Annotated[
        list[uuid.UUID] | None,
        Query(
            max_length=MAX_DEPENDENCIES,
            description=(
                "ids of your own jobs that must complete first (repeat the parameter); "
                "if one fails or is cancelled, this job is cancelled"
            ),
        ),
    ] = None,
) -> Scheduling:
    return Scheduling(
        priority=priority,
        delay_s=delay_s,
        run_at=_checked_run_at(run_at, delay_s),
        depends_on=tuple(depends_on or ()),
    )


Schedule = Annotated[Scheduling, Depends(get_scheduling)]


async def accept(
    state: AppState,
    caller: Identity,
    job_type: str,
    job_input: dict[str, Any],
    schedule: Scheduling,
) -> JobAccepted:
    """The async endpoints' answer: the job is recorded and queued; here is its id."""
    record = await state.jobs.submit(
        caller.user_id,
        job_type,
        job_input,
        priority=schedule.priority,
        delay_s=schedule.delay_s,
        run_at=schedule.run_at,
        depends_on=schedule.depends_on,
    )
    return JobAccepted(job_id=str(record.id))


async def run_now(
    state: AppState, caller: Identity, job_type: str, job_input: dict[str, Any]
) -> dict[str, Any]:
    """The sync endpoints' answer: the same job, run here, its result returned."""
    record = await state.jobs.run_inline(caller.user_id, job_type, job_input)
    return record.result_data or {}
