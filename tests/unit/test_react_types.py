"""The React package's TypeScript types (clients/react/src/types.ts) say what the API
answers: each interface against its OpenAPI schema, the status union against the enum,
the event names against those the backend publishes, the known job types against the
app's. A change on one side that the other does not follow fails here."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ultudy.api.app import create_app
from ultudy.config import Settings
from ultudy.kinds import JobType

ROOT = Path(__file__).resolve().parents[2]
TYPES = ROOT / "clients" / "react" / "src" / "types.ts"
SOURCE = ROOT / "src" / "ultudy"
# TypeScript interface name → OpenAPI schema name
INTERFACES = {"Job": "JobOut", "JobList": "JobList", "JobAccepted": "JobAccepted"}
REFS = {"JobOut": "Job", "JobStatus": "JobStatus"}
# Fields whose TS type is narrower than the schema's, on purpose.
NARROWED = {("Job", "type"): ("JobType", "string")}
PER_JOB_STREAM_ONLY = {"job.snapshot"}
SCALARS = {"string": "string", "integer": "number", "number": "number", "boolean": "boolean"}
SCALARS["null"] = "null"


def ts_source() -> str:
    return TYPES.read_text()


def ts_interface(name: str) -> dict[str, str]:
    match = re.search(rf"export interface {name} \{{\n(.*?)\n\}}", ts_source(), re.S)
    assert match, f"no interface {name} in {TYPES}"
    fields = re.findall(r"^\s+(\w+\??): (.+);$", match.group(1), re.M)
    return dict(fields)


def ts_union(name: str) -> set[str]:
    match = re.search(rf"export type {name} =(.*?);", ts_source(), re.S)
    assert match, f"no type {name} in {TYPES}"
    return set(re.findall(r'"([^"]+)"', match.group(1)))


def ts_of(schema: dict[str, Any]) -> str:
    """The TypeScript spelling of a (Pydantic-made) JSON schema."""
    if "$ref" in schema:
        return REFS[schema["$ref"].rsplit("/", 1)[1]]
    if "anyOf" in schema:
        return " | ".join(ts_of(item) for item in schema["anyOf"])
    kind = schema["type"]
    if kind == "array":
        return f"{ts_of(schema['items'])}[]"
    if kind == "object":
        return "Record<string, unknown>"
    return SCALARS[kind]


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    found: dict[str, Any] = create_app(Settings()).openapi()["components"]["schemas"]
    return found


@pytest.mark.parametrize("interface", sorted(INTERFACES))
def test_each_interface_matches_its_schema(interface: str, schemas: dict[str, Any]) -> None:
    schema = schemas[INTERFACES[interface]]
    required = set(schema.get("required", ()))
    expected = {
        (name if name in required else f"{name}?"): ts_of(prop)
        for name, prop in schema["properties"].items()
    }
    written = ts_interface(interface)
    for (owner, field), (narrow, wide) in NARROWED.items():
        if owner == interface and written.get(field) == narrow:
            written[field] = wide
    assert written == expected


def test_statuses_match_the_enum(schemas: dict[str, Any]) -> None:
    assert ts_union("JobStatus") == set(schemas["JobStatus"]["enum"])


def test_known_job_types_are_the_apps() -> None:
    assert ts_union("KnownJobType") == {kind.value for kind in JobType}


def test_event_names_are_those_the_backend_publishes() -> None:
    # `"event": "job.started"` is a log line's field (jobs/metrics.py), not a published event.
    published = {
        name
        for path in SOURCE.rglob("*.py")
        for name in re.findall(r'(?<!"event": )"(job\.[a-z_]+)"', path.read_text())
    }
    assert ts_union("JobEventType") == published - PER_JOB_STREAM_ONLY


def test_the_parser_sees_a_drift() -> None:
    """A field renamed on one side is found (the comparison is not vacuous)."""
    written = ts_interface("Job")
    assert written["progress"] == "number"
    assert "progress_message" in written
    assert ts_of({"anyOf": [{"type": "string"}, {"type": "null"}]}) == "string | null"
