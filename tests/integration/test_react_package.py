"""The React package's own checks, run by `make test`: TypeScript strict type checking of
the sources, tests and example, then its Vitest + Testing Library (jsdom) unit tests."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.support.harness import ROOT

PACKAGE = ROOT / "clients" / "react"
VITEST_TIMEOUT_S = 300


def npm(*args: str) -> str:
    if not (PACKAGE / "node_modules" / ".bin" / "vitest").exists():
        pytest.fail("clients/react has no node_modules: run `make test-deps` (npm ci)")
    done = subprocess.run(
        ["npm", *args],
        cwd=PACKAGE,
        capture_output=True,
        text=True,
        timeout=VITEST_TIMEOUT_S,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "CI": "1", "NO_COLOR": "1"},
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return done.stdout


def test_the_package_type_checks() -> None:
    npm("run", "typecheck")


def test_the_package_unit_tests_pass() -> None:
    out = npm("test")
    counts = re.search(r"Tests\s+(\d+) passed \((\d+)\)", out)
    assert counts, out[-2000:]
    assert counts.group(1) == counts.group(2)  # every test ran and passed, none skipped
    assert int(counts.group(1)) >= 14
