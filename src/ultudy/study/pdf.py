"""PDF text and structure extraction with pypdfium2 (BSD/Apache; PyMuPDF is AGPL).

Text comes page by page. Sections come from the outline when the PDF has one, otherwise
from headings found by font size and weight, with the usual traps filtered out: the title
page's title, the table of contents, running headers and footers, and bold cells of
tables at body size (only *numbered* body-size bold lines count as headings).

PDFium is not thread-safe, so every use of it in this process goes through one lock.
"""

from __future__ import annotations

import io
import logging
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from ultudy.errors import PdfError

logger = logging.getLogger(__name__)

PDF_MAGIC = b"%PDF-"
MAGIC_SEARCH_BYTES = 1024
RENDER_SCALE = 2.0  # 144 dpi: enough for a model to read body text
MIN_TEXT_CHARS = 10  # fewer non-space characters on a page: it has no text layer
MAX_OUTLINE_LEVEL = 1  # outline levels kept as sections (0 = chapters, 1 = sections)
HEADING_SIZE_RATIO = 1.12  # a heading's font is at least this much larger than the body's
BOLD_WEIGHT = 500
MAX_HEADING_WORDS = 14
RUNNING_LINE_SHARE = 0.4  # a line on this share of pages (top/bottom) is a running header
NUMBERED_RE = re.compile(r"^(?P<num>\d+(?:\.\d+)*)\.?\s+(?P<title>\S.*)$")
TOC_ENTRY_RE = re.compile(r"(\.{3,}|\s\d+)$")
CONTENTS_TITLES = frozenset({"contents", "table of contents", "index"})

_PDFIUM_LOCK = threading.Lock()


@dataclass(frozen=True, kw_only=True)
class Section:
    title: str
    level: int
    page_start: int  # 1-based, inclusive
    page_end: int
    text: str


@dataclass(frozen=True, kw_only=True)
class ExtractedDocument:
    title: str | None
    page_count: int
    pages: list[str]
    sections: list[Section]
    pages_without_text: list[int]


@dataclass(frozen=True, kw_only=True)
class _Line:
    page: int  # 0-based
    index: int  # position on its page
    text: str
    size: float
    weight: int


def looks_like_pdf(head: bytes) -> bool:
    """By content, not name: readers accept a little junk before the `%PDF-` marker."""
    return PDF_MAGIC in head[: MAGIC_SEARCH_BYTES + len(PDF_MAGIC)]


def extract_pdf(
    path: str | Path, *, on_page: Callable[[int, int], None] | None = None
) -> ExtractedDocument:
    """Text per page and sections; `on_page(done, total)` after each page (may raise)."""
    with _PDFIUM_LOCK:
        pdf = _open(path)
        try:
            return _extract(pdf, on_page)
        finally:
            pdf.close()


def render_page_png(path: str | Path, page: int, *, scale: float = RENDER_SCALE) -> bytes:
    """One page (1-based) as a PNG image, for a vision model to read."""
    with _PDFIUM_LOCK:
        pdf = _open(path)
        try:
            image = pdf[page - 1].render(scale=scale).to_pil()
        finally:
            pdf.close()
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def with_page_texts(doc: ExtractedDocument, texts: dict[int, str]) -> ExtractedDocument:
    """The document with text read elsewhere (a vision model) added to its pages' sections."""
    pages = [texts.get(n + 1) or text for n, text in enumerate(doc.pages)]
    sections = []
    for section in doc.sections:
        extra = [texts[p] for p in range(section.page_start, section.page_end + 1) if texts.get(p)]
        text = "\n\n".join([section.text, *extra]).strip() if extra else section.text
        sections.append(replace(section, text=text))
    return replace(doc, pages=pages, sections=sections)


def _open(path: str | Path) -> pdfium.PdfDocument:
    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise PdfError(
                "The PDF is password-protected; upload a copy without a password."
            ) from exc
        raise PdfError(
            f"The file could not be read as a PDF; it may be truncated or damaged ({exc})."
        ) from exc
    if len(pdf) == 0:
        pdf.close()
        raise PdfError("The PDF has no pages.")
    return pdf


def _extract(
    pdf: pdfium.PdfDocument, on_page: Callable[[int, int], None] | None
) -> ExtractedDocument:
    total = len(pdf)
    pages: list[str] = []
    lines: list[_Line] = []
    unreadable = 0
    for number in range(total):
        read = _read_page(pdf, number)
        unreadable += read is None
        text, page_lines = read or ("", [])
        pages.append(text)
        lines += page_lines
        if on_page is not None:
            on_page(number + 1, total)
    if unreadable == total:
        raise PdfError("None of the PDF's pages could be read; the file may be damaged.")
    empty = [n + 1 for n, text in enumerate(pages) if len(re.sub(r"\s", "", text)) < MIN_TEXT_CHARS]
    title = _metadata_title(pdf) or _title_line(lines)
    sections = _outline_sections(pdf, pages) or _font_sections(lines, total, title)
    if not sections:
        sections = [Section(title=title or "Document", level=1, page_start=1, page_end=total,
                            text=_join(pages))]  # fmt: skip
    return ExtractedDocument(title=title, page_count=total, pages=pages, sections=sections,
                             pages_without_text=empty)  # fmt: skip


def _read_page(pdf: pdfium.PdfDocument, number: int) -> tuple[str, list[_Line]] | None:
    """The page's text and lines; None when the page itself cannot be loaded."""
    try:
        page = pdf[number]
        textpage = page.get_textpage()
        text = _clean(textpage.get_text_range())
        lines = list(_lines(textpage, number))
    except pdfium.PdfiumError:
        logger.warning("page %d could not be read; treated as having no text", number + 1)
        return None
    return text, lines


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = re.sub(r"(\w)-\n(\w)", r"\1\2", text)  # words hyphenated at line ends
    text = re.sub(r"[ \t\f\v]+", " ", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _lines(textpage: Any, number: int) -> Iterator[_Line]:
    raw = textpage.raw
    chars: list[tuple[str, float, int]] = []
    index = 0
    for i in range(textpage.count_chars()):
        char = chr(pdfium_c.FPDFText_GetUnicode(raw, i))
        if char in "\r\n":
            if chars:
                yield _make_line(chars, number, index)
                index += 1
                chars = []
            continue
        chars.append((char, pdfium_c.FPDFText_GetFontSize(raw, i),
                      pdfium_c.FPDFText_GetFontWeight(raw, i)))  # fmt: skip
    if chars:
        yield _make_line(chars, number, index)


def _make_line(chars: list[tuple[str, float, int]], page: int, index: int) -> _Line:
    visible = [c for c in chars if not c[0].isspace()] or chars
    size = Counter(round(c[1], 1) for c in visible).most_common(1)[0][0]
    weight = Counter(c[2] for c in visible).most_common(1)[0][0]
    text = re.sub(r"\s+", " ", "".join(c[0] for c in chars)).strip()
    return _Line(page=page, index=index, text=text, size=size, weight=weight)


def _metadata_title(pdf: pdfium.PdfDocument) -> str | None:
    title = (pdf.get_metadata_dict().get("Title") or "").strip()
    return title if len(title) > 2 and not title.lower().endswith((".dvi", ".tex")) else None


def _title_line(lines: list[_Line]) -> str | None:
    first = [line for line in lines if line.page == 0 and _has_words(line.text)]
    if not first:
        return None
    return max(first, key=lambda line: line.size).text[:300]


def _has_words(text: str) -> bool:
    return sum(ch.isalpha() for ch in text) >= 2


def _join(pages: list[str]) -> str:
    return "\n\n".join(text for text in pages if text)


# --- sections from the outline ----------------------------------------------------


def _outline_sections(pdf: pdfium.PdfDocument, pages: list[str]) -> list[Section]:
    entries = _outline(pdf, len(pages))
    if not entries:
        return []
    sections = []
    for n, (level, title, start) in enumerate(entries):
        end = entries[n + 1][2] if n + 1 < len(entries) else len(pages) - 1
        end = max(start, end - 1) if n + 1 < len(entries) and end > start else max(start, end)
        text = _span_text(
            pages, start, end, title, entries[n + 1][1] if n + 1 < len(entries) else None
        )
        sections.append(Section(title=title, level=level + 1, page_start=start + 1,
                                page_end=end + 1, text=text))  # fmt: skip
    return sections


def _outline(pdf: pdfium.PdfDocument, page_count: int) -> list[tuple[int, str, int]]:
    """(level, title, 0-based page) of usable outline entries, in document order."""
    entries: list[tuple[int, str, int]] = []
    try:
        for bookmark in pdf.get_toc(max_depth=MAX_OUTLINE_LEVEL + 1):
            if bookmark.level > MAX_OUTLINE_LEVEL:
                continue
            dest = bookmark.get_dest()
            index = dest.get_index() if dest is not None else None
            title = re.sub(r"\s+", " ", bookmark.get_title() or "").strip()
            if index is None or not 0 <= index < page_count or not title:
                continue
            entries.append((bookmark.level, title, index))
    except (pdfium.PdfiumError, RecursionError, ValueError):
        logger.warning("the outline could not be read; falling back to fonts")
        return []
    entries.sort(key=lambda entry: entry[2])  # stable: outline order within a page
    return entries if len(entries) >= 2 else []


def _span_text(pages: list[str], start: int, end: int, title: str, next_title: str | None) -> str:
    """The text from this heading to the next one, cut within pages when titles are found."""
    text = "\n\n".join(pages[start : end + 1])
    at = _find(text, title)
    if at >= 0:
        text = text[at + len(title) :]
    if next_title is not None:
        tail = "\n\n".join(pages[start : end + 2])[len("\n\n".join(pages[start : end + 1])) :]
        cut = _find(text + tail, next_title)
        text = (text + tail)[:cut] if cut > 0 else text
    return text.strip()


def _find(text: str, title: str) -> int:
    words = [re.escape(w) for w in title.split()]
    if not words:
        return -1
    match = re.search(r"\s+".join(words), text, flags=re.IGNORECASE)
    return match.start() if match else -1


# --- sections from fonts -------------------------------------------------------------


def _font_sections(lines: list[_Line], page_count: int, title: str | None) -> list[Section]:
    if not lines:
        return []
    body = _body_size(lines)
    running = _running_lines(lines, page_count)
    kept = [line for line in lines if _normal(line.text) not in running]
    headings = [i for i, line in enumerate(kept) if _is_heading(line, body, title)]
    headings = _drop_contents(kept, headings)
    levels = _levels([kept[i] for i in headings])
    sections = []
    for n, at in enumerate(headings):
        stop = headings[n + 1] if n + 1 < len(headings) else len(kept)
        body_lines = kept[at + 1 : stop]
        text = "\n".join(line.text for line in body_lines)
        last_page = body_lines[-1].page if body_lines else kept[at].page
        sections.append(Section(title=_heading_title(kept[at].text), level=levels[n],
                                page_start=kept[at].page + 1, page_end=last_page + 1,
                                text=text))  # fmt: skip
    return [s for s in sections if s.text or s.title]


def _body_size(lines: list[_Line]) -> float:
    weights: Counter[float] = Counter()
    for line in lines:
        weights[line.size] += len(line.text)
    return weights.most_common(1)[0][0]


def _normal(text: str) -> str:
    return re.sub(r"\d+", "#", text.lower()).strip()


def _running_lines(lines: list[_Line], page_count: int) -> set[str]:
    """Lines that open or close many pages (headers, footers, page numbers)."""
    if page_count < 3:
        return set()
    last_index: dict[int, int] = {}
    for line in lines:
        last_index[line.page] = max(last_index.get(line.page, 0), line.index)
    edges: Counter[str] = Counter()
    for line in lines:
        if line.index < 2 or line.index >= last_index[line.page] - 1:
            edges[_normal(line.text)] += 1
    return {text for text, count in edges.items() if count >= RUNNING_LINE_SHARE * page_count}


def _is_heading(line: _Line, body: float, title: str | None) -> bool:
    text = line.text
    if not _has_words(text) or len(text.split()) > MAX_HEADING_WORDS or len(text) > 150:
        return False
    if text.rstrip().endswith((".", ",", ";", ":")) or (title and text == title):
        return False
    if TOC_ENTRY_RE.search(text) and not text.lower().startswith("appendix"):
        return False
    numbered = NUMBERED_RE.match(text) is not None
    if line.size >= body * HEADING_SIZE_RATIO:
        # Larger but light text is a title block (authors, dates) unless much larger.
        return line.weight >= BOLD_WEIGHT or numbered or line.size >= body * 1.5
    # Bold at body size: headings only when numbered (bold table cells, emphasis are not).
    return abs(line.size - body) < 0.5 and line.weight >= BOLD_WEIGHT and numbered


def _drop_contents(lines: list[_Line], headings: list[int]) -> list[int]:
    """A "Contents" heading and anything listed under it before the text starts."""
    kept = []
    for i in headings:
        if lines[i].text.strip().lower() in CONTENTS_TITLES:
            continue
        kept.append(i)
    return kept


def _levels(headings: list[_Line]) -> list[int]:
    sizes = sorted({line.size for line in headings}, reverse=True)
    levels = []
    for line in headings:
        match = NUMBERED_RE.match(line.text)
        if match:
            levels.append(match.group("num").count(".") + 1)
        else:
            levels.append(sizes.index(line.size) + 1)
    return levels


def _heading_title(text: str) -> str:
    return text.strip()[:300]
