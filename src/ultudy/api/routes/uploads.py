"""Material upload: `POST /upload/pdf-structured-async` (202) and its sync twin (200)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, File, Form, HTTPException, UploadFile, status

from ultudy.api.job_routes import add_job_routes
from ultudy.api.quota import keep_within_quota
from ultudy.api.schemas.documents import UploadResult
from ultudy.api.state import AppState
from ultudy.config import Settings
from ultudy.kinds import JobType
from ultudy.services.storage import UploadTooLargeError
from ultudy.study.pdf import looks_like_pdf

router = APIRouter(prefix="/upload", tags=["uploads"])

MULTIPART_OVERHEAD_BYTES = 64 * 1024
SNIFF_BYTES = 1024


def _limit(state: AppState) -> int:
    return state.settings.max_upload_mb * 1024 * 1024


def too_large_detail(settings: Settings) -> str:
    return f"The file is larger than the {settings.max_upload_mb} MB upload limit."


def too_large(state: AppState) -> HTTPException:
    return HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, too_large_detail(state.settings))


def request_limit_bytes(settings: Settings) -> int:
    """The largest upload request body: the file limit plus the multipart framing. The body
    limit middleware (api/middleware.py) refuses more, counted as it arrives; the file
    itself is held to the file limit while it is stored."""
    return settings.max_upload_mb * 1024 * 1024 + MULTIPART_OVERHEAD_BYTES


def _check_head(source: BinaryIO) -> None:
    head = source.read(SNIFF_BYTES)
    source.seek(0)
    if not head:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "The file is empty.")
    if not looks_like_pdf(head):
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "The file is not a PDF (its content does not start like one, whatever its name).",
        )


async def _store(
    state: AppState, owner_id: str, file: UploadFile, title: str | None, lessons: int
) -> dict[str, Any]:
    """Check and store the upload; returns the job input. Nothing is kept on a 4xx."""
    _check_head(file.file)
    store = state.services.storage
    key = store.new_key(owner_id, "pdf")
    try:
        size = await asyncio.to_thread(store.write, key, file.file, max_bytes=_limit(state))
    except UploadTooLargeError as exc:
        raise too_large(state) from exc
    await keep_within_quota(state, store, owner_id, key, size)
    name = (file.filename or "upload.pdf").rsplit("/", 1)[-1][:255]
    return {
        "storage_key": key,
        "filename": name,
        "title": (title or "").strip() or None,
        "size_bytes": size,
        **({"prepare_lessons": lessons} if lessons else {}),
    }


FileField = Annotated[UploadFile | None, File(description="the PDF")]
TitleField = Annotated[str | None, Form(max_length=300)]
MAX_PREPARED_LESSONS = 20
LessonsField = Annotated[
    int,
    Form(
        ge=0,
        le=MAX_PREPARED_LESSONS,
        description=(
            "also generate a lesson for each of the first N sections (at most 20), each a "
            "job of its own, started when the upload job completes"
        ),
    ),
]


@dataclass(frozen=True, kw_only=True)
class UploadForm:
    file: UploadFile | None
    title: str | None
    prepare_lessons: int = 0


async def _parse(
    file: FileField = None, title: TitleField = None, prepare_lessons: LessonsField = 0
) -> UploadForm:
    return UploadForm(file=file, title=title, prepare_lessons=prepare_lessons)


async def _checked_input(state: AppState, owner_id: str, form: UploadForm) -> dict[str, Any]:
    if form.file is None:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "Send the PDF as the multipart form field 'file'."
        )
    return await _store(state, owner_id, form.file, form.title, form.prepare_lessons)


async def _discard(state: AppState, job_input: dict[str, Any]) -> None:
    await asyncio.to_thread(state.services.storage.delete, job_input["storage_key"])


add_job_routes(
    router,
    "/pdf-structured",
    job_type=JobType.MATERIAL_UPLOAD,
    parse=_parse,
    prepare=_checked_input,
    discard=_discard,
    result_model=UploadResult,
    name="upload",
    responses=(400, 409, 415),  # 409: past the caller's storage quota (api/quota.py)
    summaries=(
        "Upload a PDF; extraction runs as a background job",
        "Upload a PDF and wait for its sections (sync)",
    ),
)
