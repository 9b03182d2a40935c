"""`ultudy migrate|api|worker|run|embedded-broker`: the long-running processes."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Coroutine
from typing import Annotated, Any

import typer

from ultudy.cli.common import load_settings
from ultudy.config import AuthMode
from ultudy.embedded import EmbeddedValkey, resolve_redis_url
from ultudy.errors import ConfigError

logger = logging.getLogger("ultudy")

CHILD_STOP_TIMEOUT_S = 40


def migrate() -> None:
    """Create or upgrade the database schema."""
    from ultudy.db.migrate import upgrade

    settings = load_settings()
    upgrade(settings.resolved_system_database_url)  # the owner login: it makes the tables
    typer.echo("database is up to date")


def api() -> None:
    """Serve the HTTP API and web UI."""
    import uvicorn

    from ultudy.api.app import create_app
    from ultudy.db.roles import check_urls

    settings = load_settings()
    settings.check_bind()
    # Before the server: a refusal is one line here, a traceback inside uvicorn's lifespan.
    asyncio.run(
        check_urls(
            settings.resolved_database_url,
            settings.resolved_system_database_url,
            refuse_unbound=settings.auth is AuthMode.TOKEN,
        )
    )
    application = create_app(settings, freeze_heap=True)
    # uvicorn shuts down cleanly on SIGTERM, then raises the signal again under the
    # handler that was there before it, so that the process ends *killed by* SIGTERM
    # (status 143) and a process manager sees a crash. A handler of ours that does nothing
    # makes that last step a no-op: a clean stop exits 0, as the worker's does. Installed
    # only now, just before uvicorn takes the signal over: earlier, it would swallow one.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: None)
    uvicorn.run(
        application,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        log_config=None,  # uvicorn's loggers go through ours (text or JSON)
        access_log=settings.access_log,  # a line per request: off unless asked for
        timeout_graceful_shutdown=10,
    )


def worker(
    queues: Annotated[
        str, typer.Option(help="Comma-separated queues to serve (default: every registered one).")
    ] = "",
    burst: Annotated[bool, typer.Option(help="Drain the queues, then exit.")] = False,
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, help="Jobs run at once per queue (default: ULTUDY_CONCURRENCY_*)."),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=0, max=65535, help="Serve this process's /metrics here (ULTUDY_METRICS_PORT)."
        ),
    ] = None,
) -> None:
    """Run a worker: takes jobs from the queues until stopped (SIGTERM/SIGINT)."""
    from ultudy import bootstrap
    from ultudy.heap import freeze_startup_heap
    from ultudy.jobs.metrics import serve_metrics
    from ultudy.jobs.worker import WorkerCrashedError, WorkerProcess

    settings = load_settings()
    kinds = bootstrap.load_kinds(settings)  # a bad setting fails before the broker
    names = tuple(q.strip() for q in queues.split(",") if q.strip()) or kinds.queue_names
    unknown = sorted(set(names) - set(kinds.queue_names))
    if unknown:
        raise ConfigError(f"unknown queue(s) {unknown}; known: {list(kinds.queue_names)}")
    port = metrics_port if metrics_port is not None else settings.metrics_port
    if port is not None:
        serve_metrics(settings.metrics_host, port)

    async def main() -> None:
        async with bootstrap.running(settings, role="worker", kinds=kinds) as container:
            process = WorkerProcess(container, queue_names=names, concurrency=concurrency)
            process.install_signal_handlers()
            freeze_startup_heap()
            await process.run(burst=burst)

    try:
        run_loop(main())
    except WorkerCrashedError as exc:
        logger.critical("worker crashed: %s", exc)
        raise typer.Exit(1) from exc


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """uvloop where it is installed (not on Windows): the worker's time is mostly the event
    loop's own and socket writes, which uvloop does in C (the API gets it from uvicorn)."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "ultudy", *args], env=env)


def run(
    workers: Annotated[int, typer.Option(min=1, help="Worker processes to start.")] = 1,
) -> None:
    """Everything on one machine: migrate, embedded broker (unless ULTUDY_REDIS_URL), API,
    worker(s). Ctrl-C stops them all."""
    from ultudy.db.migrate import upgrade

    settings = load_settings()
    settings.check_bind()
    upgrade(settings.resolved_system_database_url)  # the owner login: it makes the tables
    redis_url, embedded = resolve_redis_url(settings.redis_url, settings.data_dir)
    env = {**os.environ, "ULTUDY_REDIS_URL": redis_url}
    children = [_spawn(["api"], env)] + [_spawn(["worker"], env) for _ in range(workers)]
    typer.echo(f"Ultudy is up: http://{settings.host}:{settings.port}/  (Ctrl-C stops it)")
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping and all(c.poll() is None for c in children):
            time.sleep(0.2)
    finally:
        _stop_children(children)
        if embedded is not None:
            embedded.stop()
    if not stopping:
        raise typer.Exit(1)


def _stop_children(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + CHILD_STOP_TIMEOUT_S
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()


def embedded_broker() -> None:
    """Run only the embedded Valkey broker and print its URL (for a separate API/worker)."""
    settings = load_settings()
    server = EmbeddedValkey(settings.data_dir)
    typer.echo(json.dumps({"redis_url": server.start()}))
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        server.stop()


def register(app: typer.Typer) -> None:
    for command in (migrate, api, worker, run):
        app.command()(command)
    app.command("embedded-broker")(embedded_broker)
