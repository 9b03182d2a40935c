"""Where uploaded files live: one small interface, a local directory by default."""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from pathlib import Path
from typing import BinaryIO, Protocol

from ultudy.errors import JobInputError

KEY_RE = re.compile(r"^[a-z0-9_-]{1,64}/[a-f0-9]{32}\.[a-z0-9]{1,8}$")
COPY_CHUNK_BYTES = 1024 * 1024
OWNER_DIGEST_CHARS = 16
OWNER_SLUG_CHARS = 64 - 1 - OWNER_DIGEST_CHARS


class UploadTooLargeError(JobInputError):
    """The file is larger than the upload limit."""


class Storage(Protocol):
    def new_key(self, owner_id: str, suffix: str) -> str: ...
    def write(self, key: str, source: BinaryIO, *, max_bytes: int) -> int: ...
    def path(self, key: str) -> Path: ...
    def delete(self, key: str) -> None: ...
    def used_bytes(self, owner_id: str) -> int: ...


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def new_key(self, owner_id: str, suffix: str) -> str:
        return f"{owner_dir(owner_id)}/{uuid.uuid4().hex}.{suffix}"

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

    def used_bytes(self, owner_id: str) -> int:
        """Everything stored for the owner, uploads being written included."""
        try:
            entries = list(os.scandir(self.root / owner_dir(owner_id)))
        except FileNotFoundError:
            return 0
        return sum(e.stat().st_size for e in entries if e.is_file(follow_symlinks=False))


def owner_dir(owner_id: str) -> str:
    """A readable slug plus a digest: two owners never share a directory (and so a quota),
    though "Alice" and "alice" have the same slug. Files stored before the digest was
    added stay where they are (their keys are in the documents table)."""
    slug = re.sub(r"[^a-z0-9_-]", "-", owner_id.lower())[:OWNER_SLUG_CHARS]
    return f"{slug}-{hashlib.sha256(owner_id.encode()).hexdigest()[:OWNER_DIGEST_CHARS]}"
