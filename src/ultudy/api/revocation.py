"""The token revocation list: one Redis key per revoked jti, expiring when the token would
have. Checking costs one EXISTS per authenticated request (token mode only).

The check fails open: while the broker is unreachable a revoked token is accepted again
(until it expires, and with a warning in the log), because the API is built to keep
accepting jobs through a broker outage and a closed check would refuse every request.
Revoking fails closed: the caller is told it did not happen.
"""

from __future__ import annotations

import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ultudy.api.auth import Claims

logger = logging.getLogger(__name__)

# Keep an entry a little past the token's expiry: another replica's clock may run behind.
CLOCK_SKEW_S = 60
WARN_INTERVAL_S = 60.0
_last_warning = 0.0


def _key(prefix: str, jti: str) -> str:
    return f"{prefix}:auth:revoked:{jti}"


async def revoke(redis: Redis, prefix: str, claims: Claims, *, now: float | None = None) -> None:
    """Refuse this token from now on; RedisError when that could not be recorded."""
    ttl_s = claims.exp - int(time.time() if now is None else now) + CLOCK_SKEW_S
    await redis.set(_key(prefix, claims.jti), "1", ex=max(ttl_s, 1))


async def is_revoked(redis: Redis, prefix: str, claims: Claims) -> bool:
    try:
        found = await redis.exists(*(_key(prefix, jti) for jti in claims.revocation_ids))
    except RedisError as exc:
        _warn_unchecked(exc)
        return False
    return bool(found)


def _warn_unchecked(exc: RedisError) -> None:
    """Once a minute at most: an outage would otherwise log once per request."""
    global _last_warning
    if time.monotonic() - _last_warning >= WARN_INTERVAL_S:
        _last_warning = time.monotonic()
        logger.warning("token revocations not checked, the broker is unreachable: %s", exc)
