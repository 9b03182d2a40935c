"""PDF text and structure extraction with pypdfium2 (BSD/Apache; PyMuPDF is AGPL).

Text comes page by page. Sections come from the outline when the PDF has one, otherwise
from headings found by font size and weight (`sections.layout`), with the usual traps
filtered out: the title page's title and author block, the table of contents, running
headers and footers, code and table rows. Numbered headings ("2.3 Foo") get their level
from the numbering. This module reads pdfium; the layout rules never see it.

PDFium is not thread-safe, so every use of it in this process goes through one lock. The
app itself calls this module only in child processes (`isolated`), one per reading,
under `PdfLimits`: a hostile file then costs its own job and nothing else.
"""

from __future__ import annotations

import ctypes
import io
import logging
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from ultudy.errors import PdfError
from ultudy.study.pdf.fonts import FontReader
from ultudy.study.pdf.limits import DEFAULT_LIMITS, PdfLimits
from ultudy.study.pdf.lines import MAX_TITLE_CHARS, clean, tidy
from ultudy.study.pdf.model import ExtractedDocument, Line, Page
from ultudy.study.pdf.outline import MAX_OUTLINE_LEVEL, top_entries
from ultudy.study.pdf.sections import layout

logger = logging.getLogger(__name__)
PDF_MAGIC = b"%PDF-"
MAGIC_SEARCH_BYTES = 1024  # readers accept this much junk before the marker
RENDER_SCALE = 2.0  # 144 dpi: enough for a model to read body text
MIN_TEXT_CHARS = 10  # fewer non-space characters on a page: it has no text layer
MAX_BOOKMARKS = 5000  # a bound on hostile outlines
_PDFIUM_LOCK = threading.Lock()


def looks_like_pdf(head: bytes) -> bool:
    """By content, not name: readers accept a little junk before the `%PDF-` marker."""
    return PDF_MAGIC in head[: MAGIC_SEARCH_BYTES + len(PDF_MAGIC)]


def extract_pdf(
    path: str | Path,
    *,
    on_page: Callable[[int, int], None] | None = None,
    limits: PdfLimits = DEFAULT_LIMITS,
) -> ExtractedDocument:
    """Text per page and sections; `on_page(done, total)` after each page (may raise).
    Raises PdfLimitError as soon as the document is over a page or character cap."""
    with _PDFIUM_LOCK:
        pdf = _open(path)
        try:
            return _extract(pdf, on_page, limits)
        finally:
            pdf.close()


def render_page_png(
    path: str | Path, page: int, *, scale: float = RENDER_SCALE, limits: PdfLimits = DEFAULT_LIMITS
) -> bytes:
    """One page (1-based) as a PNG image, for a vision model to read; a page too large
    for `limits.max_render_pixels` at `scale` is rendered smaller, to fit."""
    with _PDFIUM_LOCK:
        pdf = _open(path)
        try:
            image = _render(pdf[page - 1], page, scale, limits).to_pil()
        finally:
            pdf.close()
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _render(page: Any, number: int, scale: float, limits: PdfLimits) -> Any:
    width, height = page.get_size()
    fitted = limits.render_scale(width, height, scale)
    if fitted < scale:
        logger.info(
            "page %d (%.0f x %.0f pt) rendered at scale %.3f to fit the pixel cap",
            number,
            width,
            height,
            fitted,
        )
    return page.render(scale=fitted)


def _open(path: str | Path) -> Any:
    if not Path(path).is_file():
        # Our storage lost it: not the uploader's fault, so not a PdfError.
        raise FileNotFoundError(f"no PDF at {path}")
    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise PdfError(_open_error(getattr(exc, "err_code", None), str(exc))) from exc
    if len(pdf) == 0:
        pdf.close()
        raise PdfError("The PDF has no pages.")
    return pdf


def _open_error(code: int | None, detail: str) -> str:
    if code == pdfium_c.FPDF_ERR_PASSWORD or "password" in detail.lower():
        return "The PDF is password-protected; upload a copy without a password."
    if code == pdfium_c.FPDF_ERR_SECURITY:
        return "The PDF is protected by an unsupported kind of encryption; upload a plain copy."
    # pdfium refuses a document with no pages without setting an error of its own, and its
    # last-error value is process-wide (left over from any earlier failure), so an empty
    # document cannot be told apart from a damaged one here: the message names both.
    return "The file could not be read as a PDF; it may be truncated or damaged, or have no pages."


def _extract(
    pdf: Any, on_page: Callable[[int, int], None] | None, limits: PdfLimits
) -> ExtractedDocument:
    total = len(pdf)
    limits.check_pages(total)
    outline = _outline(pdf, total)
    pages: list[Page] = []
    for number in range(total):
        # Fonts are only needed for headings when there is no outline (and for the title).
        pages.append(_read_page(pdf, number, limits, fonts=not outline or number == 0))
        limits.check_chars(sum(page.chars for page in pages))
        if on_page is not None:
            on_page(number + 1, total)
    _check_readable(pages)
    texts = [clean("\n".join(page.lines)) for page in pages]
    empty = [n + 1 for n, text in enumerate(texts) if len(re.sub(r"\s", "", text)) < MIN_TEXT_CHARS]
    title, sections = layout(pages, outline, pdf.get_metadata_dict())
    return ExtractedDocument(
        title=title, page_count=total, pages=texts, sections=sections, pages_without_text=empty
    )


def _read_page(pdf: Any, number: int, limits: PdfLimits, *, fonts: bool) -> Page:
    """One page's lines; a page pdfium cannot read counts as a page without text."""
    try:
        page = pdf[number]
        try:
            textpage = page.get_textpage()
            try:
                return _page_content(page, textpage, number, limits, fonts=fonts)
            finally:
                textpage.close()
        finally:
            page.close()
    except (PdfError, MemoryError):
        raise  # over a cap: the document as a whole is refused
    except Exception as exc:  # damaged pages fail in many ways; the rest of the file may be fine
        logger.warning("page %d could not be read (%s); treated as having no text", number + 1, exc)
        return Page(lines=[], readable=False)


def _page_content(page: Any, textpage: Any, number: int, limits: PdfLimits, *, fonts: bool) -> Page:
    objects = pdfium_c.FPDFPage_CountObjects(page.raw)
    count = textpage.count_chars()
    limits.check_page_chars(number + 1, count)  # before the text becomes a Python string
    text = textpage.get_text_range()
    if not fonts:
        lines = [line for line in re.split(r"\r\n|\r|\n", text) if line.strip()]
        return Page(lines=lines, objects=objects, chars=count)
    if len(text) != count:
        # pdfium left out or added characters; per character, the text lines up again.
        text = "".join(chr(pdfium_c.FPDFText_GetUnicode(textpage.raw, i)) for i in range(count))
    reader = FontReader(textpage.raw, number)
    found: list[Line] = []
    for match in re.finditer(r"[^\r\n]+", text):
        line = reader.line(text, match.start(), match.end(), len(found), whole=number == 0)
        if line is not None:
            found.append(line)
    return Page(lines=[line.text for line in found], fonts=found, objects=objects, chars=count)


def _check_readable(pages: list[Page]) -> None:
    if not any(page.readable for page in pages):
        raise PdfError("None of the PDF's pages could be read; the file may be damaged.")
    if not any(page.objects for page in pages):
        raise PdfError("The PDF's pages are blank: there is no text or image in it to read.")


def _outline(pdf: Any, page_count: int) -> list[tuple[int, str, int]]:
    """(level, title, 0-based page) of the usable top outline entries, in page order."""
    try:
        entries = [entry for entry in _bookmarks(pdf, page_count) if entry[1]]
    except (pdfium.PdfiumError, ValueError, OSError) as exc:
        logger.warning("the outline could not be read (%s); using fonts instead", exc)
        return []
    return top_entries(entries)


def _bookmarks(pdf: Any, page_count: int) -> Iterator[tuple[int, str, int]]:
    """Depth-first (level, title, page or -1), guarded against cycles and huge outlines."""
    seen: set[int] = set()
    stack = [(0, pdfium_c.FPDFBookmark_GetFirstChild(pdf.raw, None))]
    while stack and len(seen) < MAX_BOOKMARKS:
        level, bookmark = stack.pop()
        if not bookmark:
            continue
        address = ctypes.addressof(bookmark.contents)
        if address in seen:
            logger.info("the outline refers back to itself; the cycle is ignored")
            continue
        seen.add(address)
        stack.append((level, pdfium_c.FPDFBookmark_GetNextSibling(pdf.raw, bookmark)))
        if level < MAX_OUTLINE_LEVEL + 1:
            stack.append((level + 1, pdfium_c.FPDFBookmark_GetFirstChild(pdf.raw, bookmark)))
        mark = pdfium.PdfBookmark(bookmark, pdf, level)
        dest = mark.get_dest()
        page = dest.get_index() if dest is not None else None
        index: int = page if isinstance(page, int) and 0 <= page < page_count else -1
        yield level, tidy(mark.get_title() or "")[:MAX_TITLE_CHARS], index
