"""Uploaded files: the storage chosen by settings, used by the upload and document routes
and by the material-upload processor."""

from __future__ import annotations

from ultudy.config import Settings
from ultudy.study.storage import LocalStorage, Storage, UploadTooLargeError


def local_storage(settings: Settings) -> Storage:
    return LocalStorage(settings.data_dir.resolve() / "uploads")


__all__ = ["Storage", "UploadTooLargeError", "local_storage"]
