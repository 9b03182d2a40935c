"""Live job events: SSE for all of the caller's jobs or one job, and a WebSocket.

Each SSE event carries the stream id; a client reconnecting with `Last-Event-ID` (or
`?last_event_id=`, for clients that cannot set headers) gets what it missed. A comment
ping every `SSE_PING_S` keeps proxies from closing idle streams.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, WebSocket, WebSocketDisconnect
from sse_starlette import EventSourceResponse, ServerSentEvent

from ultudy.api.auth import AuthError, identify
from ultudy.api.deps import SESSION_COOKIE, Caller, Jobs, State
from ultudy.api.schemas import JobOut
from ultudy.config import AuthMode
from ultudy.jobs.events import JobEvent

router = APIRouter(prefix="/jobs", tags=["events"])

SSE_PING_S = 15
FINAL_EVENTS = frozenset({"job.completed", "job.failed", "job.cancelled"})
LastEventId = Annotated[str | None, Header(alias="Last-Event-ID")]
LastEventQuery = Annotated[str | None, Query(alias="last_event_id", max_length=40)]


def _sse(event: JobEvent) -> ServerSentEvent:
    return ServerSentEvent(data=json.dumps(event.data), event=event.type, id=event.id)


@router.get("/events", summary="Server-sent events for all of the caller's jobs")
async def all_events(
    state: State, caller: Caller, last_event_id: LastEventId = None, after: LastEventQuery = None
) -> EventSourceResponse:
    sub = await state.hub.subscribe(caller.user_id, last_event_id or after)

    async def stream() -> AsyncIterator[ServerSentEvent]:
        try:
            async for event in sub.events():
                yield _sse(event)
        finally:
            state.hub.unsubscribe(sub)

    return EventSourceResponse(stream(), ping=SSE_PING_S)


@router.get("/{job_id}/events", summary="Server-sent events for one job; ends when it does")
async def job_events(
    job_id: uuid.UUID,
    state: State,
    caller: Caller,
    jobs: Jobs,
    last_event_id: LastEventId = None,
    after: LastEventQuery = None,
) -> EventSourceResponse:
    sub = await state.hub.subscribe(caller.user_id, last_event_id or after)
    try:
        current = await jobs.get(caller.user_id, job_id)  # 404 for anyone else's job
    except Exception:
        state.hub.unsubscribe(sub)
        raise

    async def stream() -> AsyncIterator[ServerSentEvent]:
        try:
            snapshot = {"event": "job.snapshot", "job": JobOut.of(current).model_dump()}
            yield ServerSentEvent(data=json.dumps(snapshot), event="job.snapshot")
            if current.status in ("completed", "failed", "cancelled"):
                return
            async for event in sub.events():
                if event.data.get("job", {}).get("id") != str(job_id):
                    continue
                yield _sse(event)
                if event.type in FINAL_EVENTS:
                    return
        finally:
            state.hub.unsubscribe(sub)

    return EventSourceResponse(stream(), ping=SSE_PING_S)


@router.websocket("/ws")
async def websocket_events(websocket: WebSocket) -> None:
    """The same events as `/jobs/events`, as JSON messages `{id, type, data}`."""
    state = websocket.app.state.ultudy
    try:
        caller = identify(state.settings, **_ws_credentials(websocket, state.settings.auth))
    except AuthError as exc:
        await websocket.close(code=1008, reason=exc.message)
        return
    await websocket.accept()
    sub = await state.hub.subscribe(caller.user_id, websocket.query_params.get("last_event_id"))
    try:
        async for event in sub.events():
            await websocket.send_json({"id": event.id, "type": event.type, "data": event.data})
    except WebSocketDisconnect:
        pass
    finally:
        state.hub.unsubscribe(sub)


def _ws_credentials(websocket: WebSocket, auth: AuthMode) -> dict[str, Any]:
    user = websocket.headers.get("x-user-id")
    authorization = websocket.headers.get("authorization")
    session = websocket.cookies.get(SESSION_COOKIE)
    if session and not (user or authorization):
        if auth is AuthMode.DEV:
            user = session
        else:
            authorization = f"Bearer {session}"
    return {"user_header": user, "authorization": authorization}
