"""`ultudy`: run, api, worker, migrate, token, jobs."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
from typing import Annotated, Any

import typer

from ultudy import cli_prune
from ultudy.cli_errors import ConfigErrorTyper
from ultudy.config import AuthMode, Settings
from ultudy.embedded import EmbeddedValkey, resolve_redis_url
from ultudy.errors import ConfigError
from ultudy.logs import setup_logging

app = ConfigErrorTyper(help="Ultudy Jobs: background jobs for a study app.", no_args_is_help=True)
token_app = typer.Typer(help="Bearer tokens for ULTUDY_AUTH=token.", no_args_is_help=True)
app.add_typer(token_app, name="token")
jobs_app = typer.Typer(help="Operator view of all owners' jobs.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")
cli_prune.register(jobs_app)
logger = logging.getLogger("ultudy")

CHILD_STOP_TIMEOUT_S = 40


def _settings() -> Settings:
    settings = Settings()
    setup_logging(settings.log_level)
    return settings


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    from ultudy.db.migrate import upgrade

    settings = _settings()
    upgrade(settings.resolved_system_database_url)  # the owner login: it makes the tables
    typer.echo("database is up to date")


@app.command()
def api() -> None:
    """Serve the HTTP API and web UI."""
    import uvicorn

    from ultudy.api.app import create_app
    from ultudy.db.roles import check_urls

    settings = _settings()
    settings.check_bind()
    # Before the server: a refusal is one line here, a traceback inside uvicorn's lifespan.
    asyncio.run(
        check_urls(
            settings.resolved_database_url,
            settings.resolved_system_database_url,
            refuse_unbound=settings.auth is AuthMode.TOKEN,
        )
    )
    application = create_app(settings)
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
        timeout_graceful_shutdown=10,
    )


@app.command()
def worker(
    queues: Annotated[
        str, typer.Option(help="Comma-separated queues to serve (default: every registered one).")
    ] = "",
    burst: Annotated[bool, typer.Option(help="Drain the queues, then exit.")] = False,
) -> None:
    """Run a worker: takes jobs from the queues until stopped (SIGTERM/SIGINT)."""
    from ultudy import bootstrap
    from ultudy.jobs.worker import WorkerCrashedError, WorkerProcess

    settings = _settings()
    kinds = bootstrap.load_kinds(settings)  # a bad setting fails before the broker
    names = tuple(q.strip() for q in queues.split(",") if q.strip()) or kinds.queue_names
    unknown = sorted(set(names) - set(kinds.queue_names))
    if unknown:
        raise ConfigError(f"unknown queue(s) {unknown}; known: {list(kinds.queue_names)}")

    async def main() -> None:
        async with bootstrap.running(settings, role="worker", kinds=kinds) as container:
            process = WorkerProcess(container, queue_names=names)
            process.install_signal_handlers()
            await process.run(burst=burst)

    try:
        asyncio.run(main())
    except WorkerCrashedError as exc:
        logger.critical("worker crashed: %s", exc)
        raise typer.Exit(1) from exc


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "ultudy", *args], env=env)


@app.command()
def run(
    workers: Annotated[int, typer.Option(min=1, help="Worker processes to start.")] = 1,
) -> None:
    """Everything on one machine: migrate, embedded broker (unless ULTUDY_REDIS_URL), API,
    worker(s). Ctrl-C stops them all."""
    from ultudy.db.migrate import upgrade

    settings = _settings()
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


@token_app.command("create")
def token_create(
    user: str,
    admin: Annotated[bool, typer.Option(help="May see health and the admin dashboard.")] = False,
) -> None:
    """Print a signed bearer token for USER, valid for ULTUDY_TOKEN_TTL_S from now."""
    from ultudy.api.auth import AuthError, create_token

    try:
        typer.echo(create_token(Settings(), user, admin=admin))
    except AuthError as exc:
        raise ConfigError(exc.message) from exc


@token_app.command("revoke")
def token_revoke(token: str) -> None:
    """Refuse TOKEN from now on, and every browser session signed in with it."""
    from ultudy.api.auth import AuthError, verify_token
    from ultudy.api.revocation import revoke
    from ultudy.jobs.queue import connect_redis

    settings = _settings()
    try:
        claims = verify_token(settings, token)
    except AuthError as exc:
        raise typer.BadParameter(f"cannot revoke: {exc.message}") from exc
    redis_url, embedded = resolve_redis_url(settings.redis_url, settings.data_dir)

    async def main() -> None:
        redis = connect_redis(redis_url)
        try:
            await revoke(redis, settings.redis_prefix, claims)
        finally:
            await redis.aclose()

    try:
        asyncio.run(main())
    finally:
        if embedded is not None:
            embedded.stop()
    until = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(claims.exp))
    typer.echo(f"revoked {claims.sub}'s token {claims.jti} (it would have expired {until})")


@app.command("embedded-broker")
def embedded_broker() -> None:
    """Run only the embedded Valkey broker and print its URL (for a separate API/worker)."""
    settings = _settings()
    server = EmbeddedValkey(settings.data_dir)
    typer.echo(json.dumps({"redis_url": server.start()}))
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        server.stop()


def _with_service(work: Any) -> Any:
    """Run `work(service)` against the configured database and broker."""
    from ultudy import bootstrap

    settings = _settings()

    async def main() -> Any:
        async with bootstrap.running(settings, role="cli") as container:
            return await work(container.jobs)

    return asyncio.run(main())


@jobs_app.command("list")
def jobs_list(
    status: Annotated[str | None, typer.Option(help="pending, processing, completed...")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
) -> None:
    """The newest jobs of every owner, one JSON object per line."""
    from ultudy.jobs.states import JobStatus

    wanted = JobStatus(status) if status else None

    async def work(service: Any) -> None:
        page = await service.list(None, status=wanted, limit=limit)
        for job in page.jobs:
            typer.echo(
                json.dumps(
                    {
                        k: job.to_public()[k]
                        for k in (
                            "id",
                            "owner_id",
                            "type",
                            "status",
                            "progress",
                            "error_message",
                            "created_at",
                        )
                    }
                )
            )

    _with_service(work)


@jobs_app.command("cancel")
def jobs_cancel(job_id: str) -> None:
    """Cancel a pending or running job of any owner."""
    import uuid

    async def work(service: Any) -> None:
        typer.echo(json.dumps((await service.cancel(None, uuid.UUID(job_id))).to_public()))

    _with_service(work)


@jobs_app.command("retry")
def jobs_retry(job_id: str) -> None:
    """Run a failed or cancelled job again (as a new job); prints the new job id."""
    import uuid

    async def work(service: Any) -> None:
        typer.echo(str((await service.retry(None, uuid.UUID(job_id))).id))

    _with_service(work)
