"""Imports flow one way (the contracts in pyproject.toml's [tool.importlinter]): the job
framework imports no application code, the API no processor, the study domain nothing of
ours but `ultudy.errors`. A new import that breaks one fails here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# A subprocess: lint-imports configures logging with dictConfig, which would silence the
# loggers of every test that runs after it in this process.
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))
BROKEN_CONTRACT = """
[importlinter]
root_package = ultudy

[importlinter:contract:broken]
name = The API imports nothing of the job framework (false: it submits jobs)
type = forbidden
source_modules = ultudy.api
forbidden_modules = ultudy.jobs
"""


def lint_imports(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_import_contracts_hold() -> None:
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_broken_contract_fails(tmp_path: Path) -> None:
    """The check can fail: a contract the code breaks is reported as broken."""
    config = tmp_path / "broken.ini"
    config.write_text(BROKEN_CONTRACT)
    result = lint_imports("--config", str(config))
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
