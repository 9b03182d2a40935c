"""Material upload: extract a stored PDF's text per page and its sections into the database."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import uuid
from typing import Any

from ultudy.db.effects import row_for_job
from ultudy.db.models import documents
from ultudy.db.study import DocumentRows, get_document, insert_document
from ultudy.errors import JobCancelledError
from ultudy.kinds import JobType
from ultudy.services import StudyContext
from ultudy.study.pdf import ExtractedDocument, IsolatedPdfReader, with_page_texts

EXTRACT_START_PCT = 5
EXTRACT_END_PCT = 85
MAX_MODEL_PAGES = 50  # scanned pages sent to a vision model per document


async def _extract(ctx: StudyContext, pdf: IsolatedPdfReader) -> ExtractedDocument:
    """Extraction runs in a child process watched from a thread, which kills it when the
    job is cancelled or this coroutine ends early; page progress crosses back to the loop."""
    loop = asyncio.get_running_loop()
    pages: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
    abandoned = threading.Event()

    def on_page(done: int, total: int) -> None:
        loop.call_soon_threadsafe(pages.put_nowait, (done, total))

    def check() -> None:
        ctx.check_cancelled()
        if abandoned.is_set():
            raise JobCancelledError()

    work = asyncio.ensure_future(asyncio.to_thread(pdf.extract, on_page=on_page, check=check))
    try:
        while True:
            page = asyncio.ensure_future(pages.get())
            await asyncio.wait({page, work}, return_when=asyncio.FIRST_COMPLETED)
            if not page.done():
                page.cancel()
                return await work
            done, total = page.result()
            span = EXTRACT_END_PCT - EXTRACT_START_PCT
            await ctx.progress(
                EXTRACT_START_PCT + span * done / max(total, 1), f"Reading page {done} of {total}"
            )
    finally:
        abandoned.set()
        work.cancel()


async def _read_image_pages(
    ctx: StudyContext, pdf: IsolatedPdfReader, doc: ExtractedDocument
) -> dict[int, str]:
    """Pages with no text layer, read by a vision-capable model when one is configured."""
    reader = ctx.services.engines.page_reader()
    pages = doc.pages_without_text[:MAX_MODEL_PAGES]
    if reader is None or not pages:
        return {}
    texts = {}
    for n, page in enumerate(pages, start=1):
        await ctx.progress(86, f"Reading scanned page {page} ({n} of {len(pages)}) with the model")
        png = await asyncio.to_thread(pdf.render_png, page, check=ctx.check_cancelled)
        texts[page] = await reader.read(png)
    return {page: text for page, text in texts.items() if text}


def _section_rows(doc: ExtractedDocument) -> list[dict[str, Any]]:
    return [
        {
            "id": uuid.uuid4(),
            "title": s.title[:500],
            "level": s.level,
            "page_start": s.page_start,
            "page_end": s.page_end,
            "text": s.text,
            "char_count": len(s.text),
            "content_hash": hashlib.sha256(s.text.encode()).hexdigest(),
        }
        for s in doc.sections
    ]


def _result(found: DocumentRows) -> dict[str, Any]:
    """The job's result (the sync upload's answer, api/schemas/documents.py UploadResult)."""
    doc = found.document
    return {
        "document_id": str(doc.id),
        "title": doc.title,
        "page_count": doc.page_count,
        "sections": [
            {
                "id": str(s.id),
                "title": s.title,
                "page_start": s.page_start,
                "page_end": s.page_end,
                "char_count": s.char_count,
            }
            for s in found.sections
        ],
        "pages_without_text": doc.pages_without_text,
        "pages_read_by_model": doc.pages_read_by_model or [],
    }


async def _stored_result(ctx: StudyContext) -> dict[str, Any] | None:
    """The result of the document an earlier run of this job stored, if one did."""
    async with ctx.services.db.transaction(ctx.owner_id) as conn:
        row = await row_for_job(conn, documents, ctx.owner_id, ctx.job_id)
        doc = None if row is None else await get_document(conn, ctx.owner_id, row.id)
    return None if doc is None else _result(doc)


async def process(ctx: StudyContext, data: dict[str, Any]) -> dict[str, Any]:
    # Delivery is at-least-once: a job run again returns what its first run stored.
    if (done := await _stored_result(ctx)) is None:
        done = await _read_and_save(ctx, data)
    await _prepare_lessons(ctx, done, int(data.get("prepare_lessons") or 0))
    return done


async def _prepare_lessons(ctx: StudyContext, done: dict[str, Any], count: int) -> None:
    """A lesson job per section of the first `count`, each started once this job completes
    (keyed by section: a second run of this job spawns no more)."""
    sections = done["sections"][:count]
    if sections:
        await ctx.progress(95, f"Preparing {len(sections)} lesson job(s)")
    for section in sections:
        lesson = {"document_id": done["document_id"], "section_id": section["id"]}
        await ctx.spawn(JobType.LESSON_GENERATION, lesson, key=f"lesson:{section['id']}")


async def _read_and_save(ctx: StudyContext, data: dict[str, Any]) -> dict[str, Any]:
    await ctx.progress(1, "Opening the PDF")
    pdf = ctx.services.engines.pdf_reader(str(ctx.services.storage.path(data["storage_key"])))
    doc = await _extract(ctx, pdf)
    read_by_model = await _read_image_pages(ctx, pdf, doc)
    if read_by_model:
        doc = with_page_texts(doc, read_by_model)
    await ctx.progress(90, f"Saving {len(doc.sections)} sections")
    return await _save(ctx, data, doc, sorted(read_by_model))


async def _save(
    ctx: StudyContext, data: dict[str, Any], doc: ExtractedDocument, read_by_model: list[int]
) -> dict[str, Any]:
    title = (data.get("title") or doc.title or data.get("filename") or "Untitled").strip()[:300]
    document = {
        "title": title,
        "filename": data.get("filename") or "upload.pdf",
        "storage_key": data["storage_key"],
        "sha256": data.get("sha256", ""),
        "page_count": doc.page_count,
        "pages_without_text": doc.pages_without_text,
        "pages_read_by_model": read_by_model,
    }
    async with ctx.services.db.transaction(ctx.owner_id) as conn:
        # Keyed by the job: when a concurrent run of this job stored first, this one
        # stores nothing and returns that run's document.
        document_id = await insert_document(
            conn, ctx.owner_id, document, _section_rows(doc), job_id=ctx.job_id
        )
        stored = await get_document(conn, ctx.owner_id, document_id)
    assert stored is not None
    return _result(stored)
