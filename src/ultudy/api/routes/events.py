"""Live job events: SSE for all of the caller's jobs or one job, and a WebSocket.

Each SSE event carries the stream id; a client reconnecting with `Last-Event-ID` (or
`?last_event_id=`, for clients that cannot set headers) gets what it missed. A comment
ping every `ULTUDY_SSE_PING_S` keeps proxies from closing idle streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, WebSocket, WebSocketDisconnect, status
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.background import BackgroundTask

from ultudy.api.authn import identity_in
from ultudy.api.deps import Caller, Jobs, State
from ultudy.api.hub import InvalidEventIdError, Subscription
from ultudy.api.schemas import JobOut
from ultudy.api.schemas.errors import errors
from ultudy.api.state import AppState
from ultudy.jobs.events import JobEvent
from ultudy.jobs.record import JobRecord

router = APIRouter(prefix="/jobs", tags=["events"])

FINAL_EVENTS = frozenset({"job.completed", "job.failed", "job.cancelled"})
FINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})
WS_TRY_AGAIN_LATER = 1013  # broker down, or this client fell behind: reconnect and replay
WS_REPLACED = 4429  # its owner opened more streams than allowed; this, the oldest, was closed
REPLACED_EVENT = "stream.replaced"
RETRY_AFTER_S = 2
UNAVAILABLE = "Live updates are unavailable right now; GET /jobs/{job_id} still works"
LastEventId = Annotated[str | None, Header(alias="Last-Event-ID")]
LastEventQuery = Annotated[str | None, Query(alias="last_event_id", max_length=40)]
STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "An event stream: `job.*` events, each with its stream id",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    },
    **errors(400),  # a malformed Last-Event-ID
}


def _sse(event: JobEvent) -> ServerSentEvent:
    return ServerSentEvent(data=json.dumps(event.data), event=event.type, id=event.id)


async def _subscribe(state: AppState, owner_id: str, last_event_id: str | None) -> Subscription:
    """A broker that cannot answer is a 503 the client retries (browsers poll meanwhile),
    not a 500; a malformed event id is the client's to fix: a 400 that does not echo it."""
    try:
        return await state.hub.subscribe(owner_id, last_event_id)
    except InvalidEventIdError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, exc.message) from None
    except RedisError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        ) from exc


def _replaced(state: AppState) -> dict[str, str]:
    """The last message of a stream closed for a newer one of its owner. A client should
    not reconnect on its own (that would close the next oldest, and so on in a circle)."""
    limit = state.settings.max_streams_per_user
    return {
        "detail": f"You have more than {limit} live streams open; this one, the oldest, "
        "was closed. Reconnect when you need it again."
    }


def _replaced_sse(state: AppState) -> ServerSentEvent:
    return ServerSentEvent(data=json.dumps(_replaced(state)), event=REPLACED_EVENT)


def _ping_s(state: AppState) -> float:
    return state.settings.sse_ping_s


def _response(
    state: AppState, sub: Subscription, body: AsyncIterator[ServerSentEvent]
) -> EventSourceResponse:
    """The stream, releasing `sub` however it ends. The generator's own `finally` is not
    enough: a generator that never started (the client left before the first event was
    asked for) never runs it; the background task runs once the response is over."""

    async def release() -> None:
        state.hub.unsubscribe(sub)

    return EventSourceResponse(body, ping=_ping_s(state), background=BackgroundTask(release))


@router.get(
    "/events",
    response_class=EventSourceResponse,
    responses=STREAM,
    summary="Server-sent events for all of the caller's jobs",
)
async def all_events(
    state: State, caller: Caller, last_event_id: LastEventId = None, after: LastEventQuery = None
) -> EventSourceResponse:
    sub = await _subscribe(state, caller.user_id, last_event_id or after)

    async def stream() -> AsyncIterator[ServerSentEvent]:
        try:
            async for event in sub.events():
                yield _sse(event)
            if sub.replaced:
                yield _replaced_sse(state)
        finally:
            state.hub.unsubscribe(sub)

    return _response(state, sub, stream())


@router.get(
    "/{job_id}/events",
    response_class=EventSourceResponse,
    responses=STREAM,
    summary="Server-sent events for one job; ends when it does",
)
async def job_events(
    job_id: uuid.UUID,
    state: State,
    caller: Caller,
    jobs: Jobs,
    last_event_id: LastEventId = None,
    after: LastEventQuery = None,
) -> EventSourceResponse:
    # Subscribe before reading the row: a change in between is sent twice, never lost.
    sub = await _subscribe(state, caller.user_id, last_event_id or after)
    try:
        current = await jobs.get(caller.user_id, job_id)  # 404 for anyone else's job
    except Exception:
        state.hub.unsubscribe(sub)
        raise
    return _response(state, sub, _one_job(state, sub, current))


async def _one_job(
    state: AppState, sub: Subscription, current: JobRecord
) -> AsyncIterator[ServerSentEvent]:
    try:
        snapshot = {"event": "job.snapshot", "job": JobOut.of(current).model_dump(mode="json")}
        yield ServerSentEvent(data=json.dumps(snapshot), event="job.snapshot")
        if current.status in FINAL_STATUSES:
            return
        async for event in sub.events():
            if event.data.get("job", {}).get("id") != str(current.id):
                continue
            yield _sse(event)
            if event.type in FINAL_EVENTS:
                return
        if sub.replaced:
            yield _replaced_sse(state)
    finally:
        state.hub.unsubscribe(sub)


@router.websocket("/ws")
async def websocket_events(websocket: WebSocket) -> None:
    """The same events as `/jobs/events`, as JSON messages `{id, type, data}`."""
    state: AppState = websocket.app.state.ultudy
    caller = identity_in(websocket.scope)
    if caller is None:  # api/authn.py refuses such a handshake before it gets here
        await _deny(websocket, status.HTTP_401_UNAUTHORIZED, "no identity")
        return
    try:
        sub = await _subscribe(state, caller.user_id, websocket.query_params.get("last_event_id"))
    except HTTPException as exc:
        await _deny(websocket, exc.status_code, str(exc.detail))
        return
    await websocket.accept()
    try:
        await _relay(websocket, sub, _replaced(state))
    finally:
        state.hub.unsubscribe(sub)


async def _deny(websocket: WebSocket, code: int, detail: str) -> None:
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(JSONResponse({"detail": detail}, code))
    elif code < status.HTTP_500_INTERNAL_SERVER_ERROR:  # the client's to fix: no retry
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason=detail)
    else:
        await websocket.close(code=WS_TRY_AGAIN_LATER, reason=detail)


async def _relay(websocket: WebSocket, sub: Subscription, replaced: dict[str, str]) -> None:
    """Send events until the client leaves. Reading at the same time is what notices an
    idle client's departure; otherwise its subscription would live until the next event."""
    sender = asyncio.create_task(_send_events(websocket, sub), name="ws-send")
    receiver = asyncio.create_task(_until_closed(websocket), name="ws-receive")
    done, _pending = await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
    for task in (sender, receiver):
        task.cancel()
    await asyncio.gather(sender, receiver, return_exceptions=True)
    if sender in done and receiver not in done:
        if sub.replaced:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await websocket.send_json({"id": None, "type": REPLACED_EVENT, "data": replaced})
        await _close_quietly(websocket, WS_REPLACED if sub.replaced else WS_TRY_AGAIN_LATER)


async def _send_events(websocket: WebSocket, sub: Subscription) -> None:
    async for event in sub.events():
        await websocket.send_json({"id": event.id, "type": event.type, "data": event.data})


async def _until_closed(websocket: WebSocket) -> None:
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass


async def _close_quietly(websocket: WebSocket, code: int) -> None:
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):  # the client left first
        await websocket.close(code=code)
