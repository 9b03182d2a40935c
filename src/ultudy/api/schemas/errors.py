"""The one error model: every error the API answers itself is `{"detail": "..."}`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorOut(BaseModel):
    """Every error the API answers itself: what went wrong, in words."""

    detail: str


WHY: dict[int, str] = {
    400: "The request cannot be used as sent",
    401: "No valid identity: a missing, invalid, expired or revoked token or user id",
    403: "Refused: an admin route without an admin token, or a cookie-signed request from "
    "another site (CSRF)",
    404: "No such resource of the caller's",
    409: "It conflicts with the current state (of the job, or of the caller's storage)",
    413: "The request body is larger than the limit",
    415: "The upload is not a PDF",
    429: "Too many of the caller's jobs are waiting; try again later (Retry-After)",
    503: "The database or the job broker cannot be reached; try again shortly (Retry-After)",
}


ERROR_REF = "#/components/schemas/ErrorOut"  # api/openapi.py adds ErrorOut to components


def error_response(code: int) -> dict[str, Any]:
    """An error status as OpenAPI shows it: JSON, whatever the route's success is."""
    return {
        "description": WHY[code],
        "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
    }


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route or router: these statuses answer with an ErrorOut."""
    return {code: error_response(code) for code in codes}
