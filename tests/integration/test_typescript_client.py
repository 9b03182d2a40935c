"""The OpenAPI document is good enough to generate a typed client from: openapi-typescript
(npm, tests/typescript/package-lock.json, installed by `make test-deps`) turns it into
TypeScript types, and tsc type-checks a small program that uses them through openapi-fetch,
including lines that must not type-check (`@ts-expect-error`), so `any` would fail it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.support.harness import ROOT
from ultudy.api.app import create_app
from ultudy.config import Settings

PACKAGE = ROOT / "tests" / "typescript"
NODE_TIMEOUT_S = 120


def node(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", *args], cwd=cwd, capture_output=True, text=True, timeout=NODE_TIMEOUT_S
    )


def test_a_generated_typescript_client_type_checks(tmp_path: Path) -> None:
    modules = PACKAGE / "node_modules"
    assert (modules / "openapi-typescript").is_dir(), (
        "the npm packages are missing: run `make test-deps` (npm ci in tests/typescript)"
    )
    schema = tmp_path / "openapi.json"
    schema.write_text(json.dumps(create_app(Settings()).openapi()))
    for name in ("program.ts", "tsconfig.json"):
        shutil.copy(PACKAGE / name, tmp_path / name)
    (tmp_path / "node_modules").symlink_to(modules)

    generated = node(
        "node_modules/openapi-typescript/bin/cli.js", str(schema), "-o", "api.d.ts", cwd=tmp_path
    )
    assert generated.returncode == 0, generated.stderr
    types = (tmp_path / "api.d.ts").read_text()
    assert "getJob: {" in types
    assert '"text/event-stream": string' in types

    checked = node("node_modules/typescript/bin/tsc", "-p", "tsconfig.json", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_check_fails_on_a_program_that_does_not_match(tmp_path: Path) -> None:
    """The same run with a wrong field in the program: tsc must say so."""
    modules = PACKAGE / "node_modules"
    schema = tmp_path / "openapi.json"
    schema.write_text(json.dumps(create_app(Settings()).openapi()))
    program = (PACKAGE / "program.ts").read_text().replace("row.progress;", "row.percent;")
    (tmp_path / "program.ts").write_text(program)
    shutil.copy(PACKAGE / "tsconfig.json", tmp_path / "tsconfig.json")
    (tmp_path / "node_modules").symlink_to(modules)
    node("node_modules/openapi-typescript/bin/cli.js", str(schema), "-o", "api.d.ts", cwd=tmp_path)
    checked = node("node_modules/typescript/bin/tsc", "-p", "tsconfig.json", cwd=tmp_path)
    assert checked.returncode != 0
    assert "percent" in checked.stdout
