"""`ultudy`: run, api, worker, migrate, check, token, jobs."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from ultudy import __version__
from ultudy.cli import check, jobs, prune, serve, tokens
from ultudy.cli_errors import ConfigErrorTyper

app = ConfigErrorTyper(help="Ultudy Jobs: background jobs for a study app.", no_args_is_help=True)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"ultudy {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
    log_level: Annotated[
        str | None,
        typer.Option(help="DEBUG, INFO, WARNING or ERROR (ULTUDY_LOG_LEVEL); children inherit."),
    ] = None,
) -> None:
    """Ultudy Jobs: background jobs for a study app."""
    if log_level is not None:
        # Through the environment: the settings read it (a bad level is a config error,
        # one line and exit 2) and the processes `ultudy run` starts inherit it.
        os.environ["ULTUDY_LOG_LEVEL"] = log_level


serve.register(app)
check.register(app)
app.add_typer(tokens.app, name="token")
prune.register(jobs.app)
app.add_typer(jobs.app, name="jobs")
