"""Every request's id and its duration, in one pure ASGI middleware (outermost, so that
every answer, refusals included, carries the id and is counted).

The id is the client's `X-Request-ID` when it is a sane one, else a new one; it is sent
back, set for the request's log lines, and a job submitted by the request keeps it in its
input, so the worker's log lines of that job carry it too.
"""

from __future__ import annotations

import time
import uuid

from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ultudy.logs import REQUEST_ID_PATTERN, current_request_id

HEADER = b"x-request-id"
# API answers take milliseconds; uploads and sync PDF runs take seconds; streams end late.
HTTP_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
HTTP_DURATION = Histogram(
    "ultudy_http_request_duration_seconds",
    "HTTP requests by method, route template and status: time to the end of the answer",
    ["method", "route", "status"],
    buckets=HTTP_BUCKETS_S,
)
UNMATCHED_ROUTE = "unmatched"  # not a path label: unknown paths must not grow the series


def request_id_of(scope: Scope) -> str:
    for key, value in scope.get("headers", ()):
        if key.lower() == HEADER:
            candidate: str = value.decode("latin-1")
            if REQUEST_ID_PATTERN.fullmatch(candidate):
                return candidate
            break
    return uuid.uuid4().hex


def route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class Observe:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        header = (HEADER, request_id.encode("latin-1"))
        token = current_request_id.set(request_id)
        began = time.perf_counter()
        status = 500  # what the server answers if the app raises before starting one

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            current_request_id.reset(token)
            HTTP_DURATION.labels(scope["method"], route_of(scope), str(status)).observe(
                time.perf_counter() - began
            )
