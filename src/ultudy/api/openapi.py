"""The OpenAPI document, told the truth about errors. Every error the API answers itself
is an ErrorOut; a 422 is either FastAPI's request validation error (a list) or our own
input error (one message).

Statuses that follow from where an operation sits are added here, from the facts that
cause them: 401 unless the path is public (api/authn.py), 403 on unsafe methods (the CSRF
guard, api/csrf.py), 404 on paths with an id, 413 on operations with a body (the body
limit, api/middleware.py), 503 everywhere (an outage of the database or the broker).
Statuses particular to a route (409, 415, 429, admin-only 403...) are declared on it
with `responses=errors(...)` (api/schemas/errors.py).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from ultudy.api.authn import is_public
from ultudy.api.csrf import UNSAFE_METHODS
from ultudy.api.schemas.errors import ERROR_REF, ErrorOut, error_response

VALIDATION_ERROR_REF = "#/components/schemas/HTTPValidationError"
# Readable operation ids (what generated clients name their methods); a route not listed
# gets its function's name in camelCase.
OPERATION_IDS = {
    ("GET", "/jobs/events"): "streamAllJobEvents",
    ("GET", "/jobs/{job_id}/events"): "streamJobEvents",
    ("GET", "/jobs/health/queues"): "getQueueHealth",
    ("GET", "/jobs"): "listJobs",
    ("GET", "/jobs/{job_id}"): "getJob",
    ("POST", "/jobs/{job_id}/cancel"): "cancelJob",
    ("POST", "/jobs/{job_id}/retry"): "retryJob",
    ("POST", "/upload/pdf-structured-async"): "uploadPdfAsync",
    ("POST", "/upload/pdf-structured"): "uploadPdf",
    ("GET", "/documents"): "listDocuments",
    ("GET", "/documents/{document_id}"): "getDocument",
    ("DELETE", "/documents/{document_id}"): "deleteDocument",
    ("POST", "/lessons/generate-async"): "generateLessonAsync",
    ("POST", "/lessons/generate"): "generateLesson",
    ("GET", "/lessons/{lesson_id}"): "getLesson",
    ("POST", "/check-ins/submit-async"): "submitCheckInAsync",
    ("POST", "/check-ins/submit"): "submitCheckIn",
    ("POST", "/check-ins/{check_in_id}/self-assess"): "selfAssessCheckIn",
    ("GET", "/mastery"): "getMastery",
    ("POST", "/session"): "signIn",
    ("GET", "/session"): "getSession",
    ("DELETE", "/session"): "signOut",
    ("GET", "/admin/api/overview"): "getAdminOverview",
    ("POST", "/admin/api/queues/{name}/pause"): "pauseQueue",
    ("POST", "/admin/api/queues/{name}/resume"): "resumeQueue",
    ("POST", "/admin/api/jobs/{job_id}/retry"): "adminRetryJob",
    ("GET", "/metrics"): "getMetrics",
    ("GET", "/livez"): "getLivez",
    ("GET", "/readyz"): "getReadyz",
}


def operation_id(method: str, path: str, endpoint_name: str) -> str:
    found = OPERATION_IDS.get((method, path))
    if found:
        return found
    first, *rest = endpoint_name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def _widen_422(operation: dict[str, Any]) -> None:
    response = operation.get("responses", {}).get("422")
    if response is None:
        return
    schema = {"anyOf": [{"$ref": VALIDATION_ERROR_REF}, {"$ref": ERROR_REF}]}
    response.setdefault("content", {})["application/json"] = {"schema": schema}


def implied_statuses(method: str, path: str, operation: dict[str, Any]) -> list[int]:
    """The error statuses an operation can answer because of where it sits."""
    codes = [503]
    if not is_public(method, path):
        codes.append(401)
    if method in UNSAFE_METHODS:
        codes.append(403)
    if "{" in path:
        codes.append(404)
    if "requestBody" in operation:
        codes.append(413)
    return codes


def _add_errors(method: str, path: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    for code in implied_statuses(method, path, operation):
        responses.setdefault(str(code), error_response(code))
    operation["responses"] = dict(sorted(responses.items()))


def build_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorOut"] = ErrorOut.model_json_schema()
    endpoints = {
        (method, route.path): route.name
        for route in app.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }
    for path, path_item in schema.get("paths", {}).items():
        for method, operation in path_item.items():
            name = endpoints.get((method.upper(), path), operation["operationId"])
            operation["operationId"] = operation_id(method.upper(), path, name)
            _widen_422(operation)
            _add_errors(method.upper(), path, operation)
    app.openapi_schema = schema
    return schema


def install(app: FastAPI) -> None:
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
