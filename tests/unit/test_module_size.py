"""A newcomer can hold a module in their head: no source module passes 300 lines."""

from __future__ import annotations

from pathlib import Path

import ultudy

MAX_LINES = 300
SOURCE = Path(ultudy.__file__).resolve().parent


def test_no_source_module_is_over_300_lines() -> None:
    modules = sorted(SOURCE.rglob("*.py"))
    assert len(modules) > 50  # the walk found the package, not an empty folder
    too_long = {
        str(path.relative_to(SOURCE)): count
        for path in modules
        if (count := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert too_long == {}, f"modules over {MAX_LINES} lines: {too_long}"
