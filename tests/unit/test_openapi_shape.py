"""The OpenAPI document declares what every operation answers: a 2xx with a schema (JSON
through a model; the event streams and the metrics as text), and its errors as ErrorOut."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ultudy.api.app import create_app
from ultudy.config import Settings

TEXT_TYPES = {"text/event-stream", "text/plain"}
ERROR_REF = "#/components/schemas/ErrorOut"
PUBLIC_PATHS = {"/session", "/livez", "/readyz"}
# The health report answers 503 with itself; the readiness probe with a plain "not ready".
OWN_ERROR_BODIES = {"/jobs/health/queues", "/readyz"}


@pytest.fixture(scope="module")
def operations() -> list[tuple[str, str, dict[str, Any]]]:
    schema = create_app(Settings()).openapi()
    return [
        (method.upper(), path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]


def _success(operation: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    found = [(code, r) for code, r in operation["responses"].items() if code.startswith("2")]
    assert len(found) == 1, found
    return found[0]


def test_every_operation_answers_a_2xx_with_a_schema(
    operations: list[tuple[str, str, dict[str, Any]]],
) -> None:
    assert len(operations) >= 25
    for method, path, operation in operations:
        code, response = _success(operation)
        content = response.get("content", {})
        if code == "204":
            assert not content, (method, path)
            continue
        assert len(content) == 1, (method, path, content)
        ((media_type, body),) = content.items()
        if media_type in TEXT_TYPES:
            assert body["schema"] == {"type": "string"}, (method, path)
        else:
            assert media_type == "application/json", (method, path)
            assert body["schema"].get("$ref", "").startswith("#/components/schemas/"), (
                method,
                path,
                body,
            )


def test_errors_are_documented_with_the_one_error_model(
    operations: list[tuple[str, str, dict[str, Any]]],
) -> None:
    for method, path, operation in operations:
        responses = operation["responses"]
        assert "503" in responses, (method, path)
        if path not in PUBLIC_PATHS:
            assert "401" in responses, (method, path)
        if "{" in path:
            assert "404" in responses, (method, path)
        if method in ("POST", "DELETE"):
            assert "403" in responses, (method, path)
        for code, response in responses.items():
            if code.startswith("2") or code == "422" or path in OWN_ERROR_BODIES:
                continue
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": ERROR_REF}, (method, path, code)


def test_async_submits_document_429_and_uploads_413_and_415(
    operations: list[tuple[str, str, dict[str, Any]]],
) -> None:
    by_route = {(method, path): op["responses"] for method, path, op in operations}
    for path in (
        "/upload/pdf-structured-async",
        "/lessons/generate-async",
        "/check-ins/submit-async",
    ):
        assert "429" in by_route["POST", path], path
    for path in ("/upload/pdf-structured", "/upload/pdf-structured-async"):
        assert {"413", "415"} <= set(by_route["POST", path]), path


def test_credentials_are_security_schemes_not_parameters(
    operations: list[tuple[str, str, dict[str, Any]]],
) -> None:
    schema = create_app(Settings()).openapi()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["bearerToken"]["description"],
    }
    assert schemes["sessionCookie"]["in"] == "cookie"
    assert schemes["devUser"]["in"] == "header"
    for method, path, operation in operations:
        names = {p["name"].lower() for p in operation.get("parameters", [])}
        assert not names & {"authorization", "x-user-id", "ultudy_session"}, (method, path)
        if path in PUBLIC_PATHS and not (path == "/session" and method == "GET"):
            assert "security" not in operation, (method, path)
        else:
            assert {next(iter(s)) for s in operation["security"]} == set(schemes), (method, path)


def test_operation_ids_are_readable_and_unique(
    operations: list[tuple[str, str, dict[str, Any]]],
) -> None:
    ids = [operation["operationId"] for _, _, operation in operations]
    assert len(ids) == len(set(ids)), ids
    for op_id in ids:
        assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z]*)*", op_id), op_id
    by_route = {(method, path): op["operationId"] for method, path, op in operations}
    assert by_route["GET", "/jobs/{job_id}"] == "getJob"
    assert by_route["GET", "/jobs/events"] == "streamAllJobEvents"


def test_probes_and_metrics_declare_text(
    operations: list[tuple[str, str, dict[str, Any]]],
) -> None:
    by_route = {(method, path): op["responses"] for method, path, op in operations}
    for path in ("/livez", "/readyz", "/metrics"):
        assert set(by_route["GET", path]["200"]["content"]) == {"text/plain"}, path
    assert set(by_route["GET", "/readyz"]["503"]["content"]) == {"text/plain"}
    for path in ("/jobs/events", "/jobs/{job_id}/events"):
        assert set(by_route["GET", path]["200"]["content"]) == {"text/event-stream"}, path
