"""503 with Retry-After when the database or the broker cannot be reached, never a 500.

An outage is the client's cue to try again shortly (the web UI polls meanwhile); a 500
would say the request itself was at fault. Errors that are not an outage go on to the
default handler (a 500 and its stack trace in the log).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse, Response
from redis import exceptions as redis_errors

from ultudy.db.outage import DATABASE_ERRORS, DatabaseUnavailableError, is_outage

logger = logging.getLogger(__name__)

RETRY_AFTER_S = 5
RETRY_AFTER = {"Retry-After": str(RETRY_AFTER_S)}
BROKER_UNAVAILABLE = "The job broker is unavailable; try again shortly."
BROKER_ERRORS: tuple[type[Exception], ...] = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
)


def unavailable(detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status.HTTP_503_SERVICE_UNAVAILABLE, RETRY_AFTER)


async def _database_error(request: Request, exc: Exception) -> Response:
    if not is_outage(exc):
        raise exc
    logger.warning("%s %s: database unavailable (%s)", request.method, request.url.path, exc)
    return unavailable(DatabaseUnavailableError().message)


async def _broker_error(request: Request, exc: Exception) -> Response:
    logger.warning("%s %s: broker unavailable (%s)", request.method, request.url.path, exc)
    return unavailable(BROKER_UNAVAILABLE)


def install(app: FastAPI) -> None:
    for kind in DATABASE_ERRORS:
        app.add_exception_handler(kind, _database_error)
    for kind in BROKER_ERRORS:
        app.add_exception_handler(kind, _broker_error)
