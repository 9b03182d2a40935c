"""Stored bytes per user: `ULTUDY_MAX_STORED_MB_PER_USER` over everything in the user's
upload directory.

Checked after the file is written, counting every file there (uploads still being
written included): two uploads racing for the last megabytes both see each other, so
the quota is never passed (at worst both are refused). 409, because the request is fine
but conflicts with the state of the user's storage, which the user can change (delete
documents) to make the same request succeed: 413 is this file's own size limit, 429 says
that waiting helps and 403 that the user may never do this.
"""

from __future__ import annotations

import asyncio

from fastapi import HTTPException, status

from ultudy.api.state import AppState
from ultudy.study.storage import Storage

BYTES_PER_MB = 1024 * 1024


async def keep_within_quota(
    state: AppState, store: Storage, owner_id: str, key: str, size: int
) -> None:
    """Deletes the just-stored `key` and raises 409 if it takes the owner past the quota."""
    quota_mb = state.settings.max_stored_mb_per_user
    used = await asyncio.to_thread(store.used_bytes, owner_id)
    if used <= quota_mb * BYTES_PER_MB:
        return
    await asyncio.to_thread(store.delete, key)
    before_mb = max(used - size, 0) / BYTES_PER_MB
    raise HTTPException(
        status.HTTP_409_CONFLICT,
        f"Your uploads use {before_mb:.0f} MB of your {quota_mb} MB and this file is "
        f"{size / BYTES_PER_MB:.1f} MB; delete documents to upload more.",
    )
