"""Configuration errors as one line on stderr and exit code 2, in every `ultudy` command.

A traceback says "the program broke"; a bad setting is the operator's to fix, so they get
what to change, on one line, and no stack. Inputs are not echoed: they may be secrets.
"""

from __future__ import annotations

from typing import Any

import typer
from pydantic import ValidationError

from ultudy.errors import ConfigError

CONFIG_ERROR_EXIT_CODE = 2
ENV_PREFIX = "ULTUDY_"


def describe(exc: ValidationError | ConfigError) -> str:
    if isinstance(exc, ConfigError):
        return exc.message
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        message = error["msg"].removeprefix("Value error, ")
        loc = "_".join(str(part) for part in error["loc"]).upper()
        parts.append(f"{ENV_PREFIX}{loc}: {message}" if loc else message)
    return "invalid configuration: " + "; ".join(parts)


class ConfigErrorTyper(typer.Typer):
    """A Typer app whose configuration errors end the command with one line and code 2."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except (ValidationError, ConfigError) as exc:
            line = " ".join(describe(exc).split())
            typer.echo(f"ultudy: {line}", err=True)
            raise SystemExit(CONFIG_ERROR_EXIT_CODE) from None
