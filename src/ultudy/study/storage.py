"""Where uploaded files live: one small interface, a local directory by default."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import BinaryIO, Protocol

from ultudy.errors import JobInputError

KEY_RE = re.compile(r"^[a-z0-9_-]{1,64}/[a-f0-9]{32}\.[a-z0-9]{1,8}$")
COPY_CHUNK_BYTES = 1024 * 1024


class UploadTooLargeError(JobInputError):
    """The file is larger than the upload limit."""


class Storage(Protocol):
    def new_key(self, owner_id: str, suffix: str) -> str: ...
    def write(self, key: str, source: BinaryIO, *, max_bytes: int) -> int: ...
    def path(self, key: str) -> Path: ...
    def delete(self, key: str) -> None: ...


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def new_key(self, owner_id: str, suffix: str) -> str:
        # The owner goes in as a digest-free slug only for tidiness; keys are random.
        slug = re.sub(r"[^a-z0-9_-]", "-", owner_id.lower())[:64] or "owner"
        return f"{slug}/{uuid.uuid4().hex}.{suffix}"

    def path(self, key: str) -> Path:
        if not KEY_RE.match(key):
            raise JobInputError("invalid storage key")
        return self.root / key

    def write(self, key: str, source: BinaryIO, *, max_bytes: int) -> int:
        """Copy in chunks, stopping as soon as the limit is passed (nothing is kept then)."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        tmp = target.with_suffix(".part")
        try:
            with tmp.open("wb") as out:
                while chunk := source.read(COPY_CHUNK_BYTES):
                    written += len(chunk)
                    if written > max_bytes:
                        raise UploadTooLargeError()
                    out.write(chunk)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return written

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)
