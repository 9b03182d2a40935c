"""Running `python -m ultudy ...` as a subprocess, as an operator would."""

from __future__ import annotations

import subprocess
import sys

CLI_TIMEOUT_S = 60
CONFIG_ERROR_EXIT_CODE = 2


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ultudy", *args],
        env=env,
        text=True,
        capture_output=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )


def assert_config_error(done: subprocess.CompletedProcess[str], says: str) -> None:
    """Exit code 2 and one line on stderr, saying `says`, and no traceback."""
    assert done.returncode == CONFIG_ERROR_EXIT_CODE, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("ultudy: ")
    assert says in done.stderr
