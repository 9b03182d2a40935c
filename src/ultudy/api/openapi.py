"""The OpenAPI document, told the truth about errors: a 422 is either FastAPI's request
validation error (a list) or our own input error (one message), like every other error."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

VALIDATION_ERROR_REF = "#/components/schemas/HTTPValidationError"
ERROR_REF = "#/components/schemas/ErrorOut"


class ErrorOut(BaseModel):
    """Every error the API answers itself: what went wrong, in words."""

    detail: str


def _widen_422(operation: dict[str, Any]) -> None:
    response = operation.get("responses", {}).get("422")
    if response is None:
        return
    schema = {"anyOf": [{"$ref": VALIDATION_ERROR_REF}, {"$ref": ERROR_REF}]}
    response.setdefault("content", {})["application/json"] = {"schema": schema}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorOut"] = ErrorOut.model_json_schema()
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            _widen_422(operation)
    app.openapi_schema = schema
    return schema


def install(app: FastAPI) -> None:
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
