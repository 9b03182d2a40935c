"""One exception root: every exception class the package defines descends from
UltudyError, so callers can catch the package's errors in one clause."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import ultudy
from ultudy.errors import UltudyError

# Run when imported (Alembic's env.py runs migrations, __main__ the CLI); no exceptions.
SKIPPED_PREFIXES = ("ultudy.db.migrations", "ultudy.__main__")


def _modules() -> list[str]:
    names = [info.name for info in pkgutil.walk_packages(ultudy.__path__, "ultudy.")]
    return [name for name in names if not name.startswith(SKIPPED_PREFIXES)]


def test_every_exception_of_the_package_is_an_ultudy_error() -> None:
    defined = {
        cls
        for name in _modules()
        for _attr, cls in inspect.getmembers(importlib.import_module(name), inspect.isclass)
        if issubclass(cls, BaseException) and cls.__module__.startswith("ultudy.")
    }
    assert len(defined) >= 15, defined  # the walk really found the package's exceptions
    outside = sorted(
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in defined
        if not issubclass(cls, UltudyError)
    )
    assert outside == []
