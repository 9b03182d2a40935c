"""`ultudy token create|revoke`: bearer tokens for ULTUDY_AUTH=token."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

import typer

from ultudy.cli.common import load_settings
from ultudy.config import Settings
from ultudy.embedded import resolve_redis_url
from ultudy.errors import ConfigError

app = typer.Typer(help="Bearer tokens for ULTUDY_AUTH=token.", no_args_is_help=True)


@app.command("create")
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


@app.command("revoke")
def token_revoke(token: str) -> None:
    """Refuse TOKEN from now on, and every browser session signed in with it."""
    from ultudy.api.auth import AuthError, verify_token
    from ultudy.api.revocation import revoke
    from ultudy.jobs.queue import connect_redis

    settings = load_settings()
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
