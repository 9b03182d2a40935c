"""PDF text and structure extraction with pypdfium2 (BSD/Apache; PyMuPDF is AGPL).

Text comes page by page. Sections come from the outline when the PDF has one, otherwise
from headings found by font size and weight, with the usual traps filtered out: the title
page's title and author block, the table of contents, running headers and footers, code
and table rows. Numbered headings ("2.3 Foo") get their level from the numbering.

PDFium is not thread-safe, so every use of it in this process goes through one lock. The
app itself calls this module only in child processes (`pdf_isolated`), one per reading,
under `PdfLimits`: a hostile file then costs its own job and nothing else.
"""

from __future__ import annotations

import ctypes
import io
import itertools
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
from ultudy.study.pdf_limits import DEFAULT_LIMITS, PdfLimits

logger = logging.getLogger(__name__)

PDF_MAGIC = b"%PDF-"
MAGIC_SEARCH_BYTES = 1024  # readers accept this much junk before the marker
RENDER_SCALE = 2.0  # 144 dpi: enough for a model to read body text
MIN_TEXT_CHARS = 10  # fewer non-space characters on a page: it has no text layer
MAX_OUTLINE_LEVEL = 1  # outline levels kept as sections (0 = chapters, 1 = sections)
MAX_BOOKMARKS = 5000  # a bound on hostile outlines
BOLD_WEIGHT = 500  # TeX's bold fonts report 540-585, regular ones 265-415
BOLD_SHARE = 0.8  # share of a line's characters that must be bold for the line to be bold
BOLD_SIZE_RATIO = 0.95  # a bold heading is at least about body size
LARGER_SIZE_RATIO = 1.15  # a light heading is clearly larger than body text
TITLE_SIZE_RATIO = 1.12
SAME_SIZE = 0.3  # points: sizes closer than this are the same size
CELL_GAP_EM = 1.5  # a gap this wide (in font sizes) separates table cells, not words
MAX_HEADING_WORDS = 12
SAMPLED_CHARS = 12  # characters whose fonts are read on a line too long to be a heading
MAX_HEADING_CHARS = 150
MAX_TITLE_CHARS = 300
TITLE_PAGE_BODY_CHARS = 200  # less body text than this on page 1: it is a title page
PREAMBLE_MIN_CHARS = 500  # text before the first heading worth a section of its own
RUNNING_MIN_PAGES = 3
RUNNING_PAGE_SHARE = 0.4
DEFAULT_BODY_SIZE = 10.0

_PREFIX = r"chapter|section|part|appendix|lecture|unit|module|week"
_NUM = r"\d{1,2}(?:\.\d{1,2}){0,4}|[A-Z](?:\.\d{1,2}){1,4}|[IVX]{1,5}(?=\.)"
NUMBERED_RE = re.compile(
    rf"^(?:(?:{_PREFIX})\s+(?P<pnum>[A-Z]|{_NUM})|(?P<num>{_NUM}))\.?(?::\s*|\s+)"
    r"(?P<title>[^\W\d_].*)$",
    re.IGNORECASE,
)
# Dot leaders, or a numbered heading followed by its page number ("3 Usage 2").
TOC_ENTRY_RE = re.compile(r"(?:\.\s*){3,}\S*$|…\s*\S*$|^\d{1,2}(?:\.\d{1,2})*\.?\s+\D.*\s\d{1,4}$")
SECTION_NUMBER_RE = re.compile(r"[\dA-Z]{1,2}(?:\.\d{1,2})*\.?")
CAPTION_RE = re.compile(r"^(?:figure|fig\.|table|listing|algorithm|equation)\s*\d", re.IGNORECASE)
PAGE_NUMBER_RE = re.compile(
    r"(?:page\s*)?#(?:\s*(?:of|/)\s*#)?|[-–—\s]*#[-–—\s]*"
    r"|(?=[ivxlc])c{0,3}(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3})"  # roman: front matter
)
MONO_FONT_RE = re.compile(r"mono|courier|consol|cmtt|cmsltt|menlo|inconsolata", re.IGNORECASE)
BOLD_FONT_RE = re.compile(r"bold|black|heavy|semibold|demi|cmbx|cmb\d", re.IGNORECASE)
CONTENTS_KEYS = frozenset({"contents", "tableofcontents", "listoffigures", "listoftables"})
GENERIC_TITLES = frozenset(
    {"untitled", "document", "title", "notitle", "none", "unknown", "presentation",
     "powerpointpresentation", "slide", "pdf", "print", "microsoftword"}
)  # fmt: skip
FILE_NAME_RE = re.compile(
    r"\.(?:pdf|docx?|dvi|tex|pptx?|xlsx?|odt|odp|rtf|txt|html?|e?ps|indd|qxd|key|pages)$",
    re.IGNORECASE,
)
APP_PREFIX_RE = re.compile(r"^microsoft (?:word|powerpoint|excel) - ", re.IGNORECASE)
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st"})

_PDFIUM_LOCK = threading.Lock()


@dataclass(frozen=True, kw_only=True)
class Section:
    title: str
    level: int  # 1 = top level
    page_start: int  # 1-based, inclusive
    page_end: int
    text: str


@dataclass(frozen=True, kw_only=True)
class ExtractedDocument:
    title: str | None
    page_count: int
    pages: list[str]
    sections: list[Section]
    pages_without_text: list[int]  # 1-based


@dataclass(frozen=True, kw_only=True)
class _Line:
    """One text line with its fonts, as pdfium lays the page's characters out."""

    page: int  # 0-based
    index: int  # position among the page's lines
    text: str
    size: float  # the most common font size of its visible characters
    bold: bool
    mono: bool  # mostly in a monospaced font: code
    chars: int  # visible characters
    cells: int  # runs separated by wide gaps: table cells, right-aligned page numbers
    y: float  # bottom of its first character
    top_size: float  # largest font size on the line, and the text at that size:
    top_text: str  # a title may share its line with smaller text


@dataclass(frozen=True, kw_only=True)
class _Page:
    lines: list[str]  # non-blank text lines in pdfium's reading order
    fonts: list[_Line] | None = None  # the same lines with their fonts, when analysed
    objects: int = 0
    chars: int = 0  # as pdfium counts them
    readable: bool = True


@dataclass(frozen=True, kw_only=True)
class _Anchor:
    """Where a section's heading is: its first line and how many lines it takes."""

    page: int
    line: int
    length: int
    title: str
    level: int


# --- public API ----------------------------------------------------------------------


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


def with_page_texts(doc: ExtractedDocument, texts: dict[int, str]) -> ExtractedDocument:
    """The document with text read elsewhere (a vision model) added to its pages' sections."""
    pages = [texts.get(n + 1) or text for n, text in enumerate(doc.pages)]
    sections = []
    for section in doc.sections:
        extra = [texts[p] for p in range(section.page_start, section.page_end + 1) if texts.get(p)]
        text = "\n\n".join([section.text, *extra]).strip() if extra else section.text
        sections.append(replace(section, text=text))
    return replace(doc, pages=pages, sections=sections)


def _render(page: Any, number: int, scale: float, limits: PdfLimits) -> Any:
    width, height = page.get_size()
    fitted = limits.render_scale(width, height, scale)
    if fitted < scale:
        logger.info("page %d (%.0f x %.0f pt) rendered at scale %.3f to fit the pixel cap",
                    number, width, height, fitted)  # fmt: skip
    return page.render(scale=fitted)


# --- opening and reading -------------------------------------------------------------


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
    pages: list[_Page] = []
    for number in range(total):
        # Fonts are only needed for headings when there is no outline (and for the title).
        pages.append(_read_page(pdf, number, limits, fonts=not outline or number == 0))
        limits.check_chars(sum(page.chars for page in pages))
        if on_page is not None:
            on_page(number + 1, total)
    _check_readable(pages)
    texts = [_clean("\n".join(page.lines)) for page in pages]
    empty = [n + 1 for n, text in enumerate(texts) if len(re.sub(r"\s", "", text)) < MIN_TEXT_CHARS]
    body = _body_size(pages)
    title_lines = _title_lines(pages, body, unique=not outline)
    title = _metadata_title(pdf.get_metadata_dict()) or _line_title(title_lines)
    running = _running_lines(pages)
    if outline:
        anchors = _outline_anchors(outline, pages)
    else:
        anchors = _heading_anchors(pages, body, title_lines, running)
    sections = _sections(anchors, pages, running, title, preamble=not outline) or [
        Section(title=title or "Document", level=1, page_start=1, page_end=total,
                text="\n\n".join(text for text in texts if text))
    ]  # fmt: skip
    return ExtractedDocument(title=title, page_count=total, pages=texts, sections=sections,
                             pages_without_text=empty)  # fmt: skip


def _read_page(pdf: Any, number: int, limits: PdfLimits, *, fonts: bool) -> _Page:
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
        return _Page(lines=[], readable=False)


def _page_content(
    page: Any, textpage: Any, number: int, limits: PdfLimits, *, fonts: bool
) -> _Page:
    objects = pdfium_c.FPDFPage_CountObjects(page.raw)
    count = textpage.count_chars()
    limits.check_page_chars(number + 1, count)  # before the text becomes a Python string
    text = textpage.get_text_range()
    if not fonts:
        lines = [line for line in re.split(r"\r\n|\r|\n", text) if line.strip()]
        return _Page(lines=lines, objects=objects, chars=count)
    if len(text) != count:
        # pdfium left out or added characters; per character, the text lines up again.
        text = "".join(chr(pdfium_c.FPDFText_GetUnicode(textpage.raw, i)) for i in range(count))
    reader = _FontReader(textpage.raw, number)
    found: list[_Line] = []
    for match in re.finditer(r"[^\r\n]+", text):
        line = reader.line(text, match.start(), match.end(), len(found), whole=number == 0)
        if line is not None:
            found.append(line)
    return _Page(lines=[line.text for line in found], fonts=found, objects=objects, chars=count)


def _check_readable(pages: list[_Page]) -> None:
    if not any(page.readable for page in pages):
        raise PdfError("None of the PDF's pages could be read; the file may be damaged.")
    if not any(page.objects for page in pages):
        raise PdfError("The PDF's pages are blank: there is no text or image in it to read.")


@dataclass(kw_only=True)
class _Run:
    """Characters of one font size in a row, from `first` to `last` (indices)."""

    size: float
    font: str
    first: int
    last: int


def _run_length(run: _Run) -> int:
    return run.last - run.first


class _FontReader:
    """A text line's fonts, character by character. Lines too long to be headings are
    only sampled: their fonts count towards the body size, and pdfium calls are slow."""

    def __init__(self, raw: Any, page: int) -> None:
        self._raw = raw
        self._page = page
        self._box = [ctypes.c_double() for _ in range(4)]  # left, right, bottom, top
        self._font = ctypes.create_string_buffer(128)
        self._flags = ctypes.c_int()

    def line(self, text: str, start: int, end: int, index: int, *, whole: bool) -> _Line | None:
        visible = [i for i in range(start, end) if not text[i].isspace()]
        if not visible:
            return None
        sample = not whole and len(text[start:end].split()) > MAX_HEADING_WORDS
        if sample:
            visible = visible[:: max(1, len(visible) // SAMPLED_CHARS)]
        sizes, bold, runs = self._fonts(visible)
        cells = 1 if sample else 1 + self._cells(text, start, visible)
        top = max(runs, key=lambda run: run.size)
        return _Line(page=self._page, index=index, text=text[start:end].strip(),
                     size=Counter(sizes).most_common(1)[0][0],
                     bold=bold >= BOLD_SHARE * len(sizes),
                     mono=bool(MONO_FONT_RE.search(max(runs, key=_run_length).font)),
                     chars=end - start if sample else len(sizes), cells=cells,
                     y=self._char_box(visible[0])[2], top_size=top.size,
                     top_text=text[top.first : top.last + 1].strip())  # fmt: skip

    def _fonts(self, visible: list[int]) -> tuple[list[float], int, list[_Run]]:
        """Sizes, how many are bold, and runs of one size."""
        raw, bold = self._raw, 0
        sizes: list[float] = []
        runs: list[_Run] = []
        for i in visible:
            size = round(pdfium_c.FPDFText_GetFontSize(raw, i), 1)
            weight = pdfium_c.FPDFText_GetFontWeight(raw, i)
            if not runs or abs(runs[-1].size - size) > SAME_SIZE:
                runs.append(_Run(size=size, font=self._font_name(i), first=i, last=i))
            runs[-1].last = i
            # Standard fonts that are not embedded report no weight; their names tell.
            bold += weight >= BOLD_WEIGHT or (
                weight <= 0 and bool(BOLD_FONT_RE.search(runs[-1].font))
            )
            sizes.append(size)
        return sizes, bold, runs

    def _cells(self, text: str, start: int, visible: list[int]) -> int:
        """Wide gaps between the line's words."""
        spaced = [(a, b) for a, b in itertools.pairwise(visible) if b > a + 1]
        return sum(self._wide_gap(text, start, a, b) for a, b in spaced)

    def _wide_gap(self, text: str, start: int, before: int, after: int) -> bool:
        gap = self._char_box(after)[0] - self._char_box(before)[1]
        size = pdfium_c.FPDFText_GetFontSize(self._raw, after)
        if gap <= CELL_GAP_EM * size:
            return False
        # A section number set apart from its title ("1.2<tab>Title") is not a cell.
        return not SECTION_NUMBER_RE.fullmatch(text[start : before + 1].strip())

    def _char_box(self, index: int) -> tuple[float, float, float, float]:
        left, right, bottom, top = self._box
        pdfium_c.FPDFText_GetCharBox(self._raw, index, left, right, bottom, top)
        return left.value, right.value, bottom.value, top.value

    def _font_name(self, index: int) -> str:
        size = pdfium_c.FPDFText_GetFontInfo(self._raw, index, self._font, 128, self._flags)
        return self._font.value.decode("latin-1") if 0 < size <= 128 else ""


# --- text ----------------------------------------------------------------------------


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # pdfium marks a word hyphenated at a line end; the word is whole again without it.
    text = re.sub(r"[\x02\ufffe\u00ad]\n?", "", text)
    # A hyphen pdfium kept is a real one ("3-\ndimensional"): keep it, join the lines.
    text = re.sub(r"(?<=\w-)\n(?=\w)", "", text)
    text = CONTROL_RE.sub("", text).translate(LIGATURES)
    text = re.sub(r"[^\S\n]+", " ", text)
    text = re.sub(r" ?\n ?", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _tidy(text: str) -> str:
    return re.sub(r"\s+", " ", _clean(text)).strip()


def _key(text: str) -> str:
    """Letters only, without a chapter/appendix word: to match a heading to its title."""
    text = re.sub(rf"^\s*(?:{_PREFIX})\b", "", _tidy(text).lower())
    return re.sub(r"[\W\d_]+", "", text)


def _shape(text: str) -> str:
    """The text with numbers blanked out: running headers differ only in page numbers."""
    return re.sub(r"\d+", "#", re.sub(r"\s+", " ", _tidy(text).lower()))


def _letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


# --- the document title --------------------------------------------------------------


def _metadata_title(meta: dict[str, str]) -> str | None:
    title = APP_PREFIX_RE.sub("", _tidy(meta.get("Title") or ""))
    if len(title) < 3 or _letters(title) < 2 or FILE_NAME_RE.search(title):
        return None
    if re.sub(r"[\W\d_]+", "", title.lower()) in GENERIC_TITLES:
        return None
    if " " not in title and ("/" in title or "\\" in title):
        return None  # a path
    producers = (meta.get("Creator") or "", meta.get("Producer") or "")
    if any(_names_program(title, program) for program in producers):
        return None
    return title[:MAX_TITLE_CHARS]


def _names_program(title: str, program: str) -> bool:
    """Whether the title names the program that made the file, not the work: "Adobe
    Photoshop PDF" from "Adobe Photoshop CC 2015"."""
    words, program_words = title.lower().split()[:2], program.lower().split()[:2]
    return bool(program_words) and words == program_words[: len(words)]


def _line_title(lines: list[_Line]) -> str | None:
    return _tidy(" ".join(line.top_text for line in lines))[:MAX_TITLE_CHARS] or None


def _title_lines(pages: list[_Page], body: float, *, unique: bool) -> list[_Line]:
    """The first page's largest-font lines, if they stand out (and, with `unique`, if no
    later page has text that large: then they are headings, not a title)."""
    first = [line for line in pages[0].fonts or [] if _letters(line.top_text) >= 2]
    if not first:
        return []
    top = max(line.top_size for line in first)
    if top < body * TITLE_SIZE_RATIO:
        return []
    later = (line for page in pages[1:] for line in page.fonts or [])
    if unique and any(line.top_size >= top - SAME_SIZE for line in later):
        return []
    lines = [line for line in first if abs(line.top_size - top) <= SAME_SIZE]
    block = lines[:1]
    for line in lines[1:3]:  # a title wrapped over adjacent lines
        if line.index != block[-1].index + 1:
            break
        block.append(line)
    return [] if NUMBERED_RE.match(_tidy(block[0].text)) else block


# --- sections from the outline -------------------------------------------------------


def _outline(pdf: Any, page_count: int) -> list[tuple[int, str, int]]:
    """(level, title, 0-based page) of the usable top outline entries, in page order."""
    try:
        entries = [entry for entry in _bookmarks(pdf, page_count) if entry[1]]
    except (pdfium.PdfiumError, ValueError, OSError) as exc:
        logger.warning("the outline could not be read (%s); using fonts instead", exc)
        return []
    roots = [entry for entry in entries if entry[0] == 0]
    if len(roots) == 1 and any(entry[0] == 1 for entry in entries):
        # One root holding everything is the document itself: its children are chapters.
        entries = [(level - 1, title, page) for level, title, page in entries if level > 0]
    kept = [entry for entry in entries if entry[0] <= MAX_OUTLINE_LEVEL and entry[2] >= 0]
    kept.sort(key=lambda entry: entry[2])  # stable: outline order within a page
    return kept if len(kept) >= 2 else []


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
        yield level, _tidy(mark.get_title() or "")[:MAX_TITLE_CHARS], index


def _outline_anchors(entries: list[tuple[int, str, int]], pages: list[_Page]) -> list[_Anchor]:
    """Each entry's heading found on its page, so sections split within pages too."""
    anchors: list[_Anchor] = []
    for level, title, page in entries:
        after = anchors[-1] if anchors and anchors[-1].page == page else None
        start = after.line + after.length if after else 0
        line, length = _locate(pages[page].lines, title, start) or (start, 0)
        anchors.append(_Anchor(page=page, line=line, length=length, title=title,
                               level=level + 1))  # fmt: skip
    return anchors


def _locate(lines: list[str], title: str, start: int) -> tuple[int, int] | None:
    """The line (or two wrapped lines) from `start` on that read as the title."""
    key = _key(title)
    if not key:
        return None
    for i in range(start, len(lines)):
        here = _key(lines[i])
        if here == key:
            return i, 1
        wrapped = here and key.startswith(here) and i + 1 < len(lines)
        if wrapped and _key(lines[i] + " " + lines[i + 1]) == key:
            return i, 2
    return None


# --- sections from fonts -------------------------------------------------------------


def _body_size(pages: list[_Page]) -> float:
    """The size most characters have, code aside (listings are often smaller)."""
    lines = [line for page in pages for line in page.fonts or []]
    sizes: Counter[float] = Counter()
    for line in [line for line in lines if not line.mono] or lines:
        sizes[line.size] += line.chars
    return sizes.most_common(1)[0][0] if sizes else DEFAULT_BODY_SIZE


def _running_lines(pages: list[_Page]) -> set[tuple[int, int]]:
    """(page, line) of headers and footers: page numbers, and lines that open or close
    many pages alike (numbers aside)."""
    spots: dict[str, list[tuple[int, int]]] = {}
    for p, page in enumerate(pages):
        count = len(page.lines)
        for i in sorted({0, 1, count - 2, count - 1} & set(range(count))):
            shape = _shape(page.lines[i])
            if PAGE_NUMBER_RE.fullmatch(shape) or count >= 3:
                spots.setdefault(shape, []).append((p, i))
    running: set[tuple[int, int]] = set()
    for shape, where in spots.items():
        seen_on = len({p for p, _ in where})
        common = seen_on >= RUNNING_MIN_PAGES or seen_on >= max(2, RUNNING_PAGE_SHARE * len(pages))
        if common or PAGE_NUMBER_RE.fullmatch(shape):
            running.update(where)
    return running


def _heading_anchors(
    pages: list[_Page], body: float, title_lines: list[_Line], running: set[tuple[int, int]]
) -> list[_Anchor]:
    skip = running | {(line.page, line.index) for line in title_lines}
    skip |= _front_matter(pages, body, title_lines, running)
    lines = [line for page in pages for line in page.fonts or []]
    candidates = [
        line for line in lines if (line.page, line.index) not in skip and _is_heading(line, body)
    ]
    candidates = _drop_contents(_drop_table_rows(candidates))
    headings = _numbered_alike(_merge_wrapped(candidates))
    levels = _levels(headings)
    return [
        _Anchor(page=group[0].page, line=group[0].index, length=len(group),
                title=_heading_text(group), level=level)
        for group, level in zip(headings, levels, strict=True)
    ]  # fmt: skip


def _front_matter(
    pages: list[_Page], body: float, title_lines: list[_Line], running: set[tuple[int, int]]
) -> set[tuple[int, int]]:
    """The title block around a title (authors, dates: light, not body size), or the
    whole first page when it is a title page."""
    first = pages[0].fonts or []
    if not title_lines:
        return set()
    body_chars = sum(len(line.text) for line in first if abs(line.size - body) <= SAME_SIZE)
    if len(pages) > 1 and body_chars < TITLE_PAGE_BODY_CHARS:
        return {(0, line.index) for line in first}
    after = range(title_lines[-1].index + 1, len(first))
    before = range(title_lines[0].index - 1, -1, -1)
    return _light_run(first, after, body, running) | _light_run(first, before, body, running)


def _light_run(
    lines: list[_Line], order: range, body: float, running: set[tuple[int, int]]
) -> set[tuple[int, int]]:
    """First-page lines in `order` up to the first bold, body-size or numbered one."""
    block = set()
    for i in order:
        line = lines[i]
        if (0, i) in running:
            continue
        at_body = abs(line.size - body) <= SAME_SIZE
        if line.bold or at_body or NUMBERED_RE.match(_tidy(line.text)):
            break
        block.add((0, i))
    return block


def _is_heading(line: _Line, body: float) -> bool:
    text = _tidy(line.text)
    words = text.split()
    if line.cells > 1 or line.mono or not 0 < len(words) <= MAX_HEADING_WORDS:
        return False
    if len(text) > MAX_HEADING_CHARS or text.endswith((".", ",", ";", ":")):
        return False
    visible = len(text) - text.count(" ")
    if _letters(text) < max(2, visible // 2) or CAPTION_RE.match(text):
        return False
    if TOC_ENTRY_RE.search(text):
        return False
    if line.bold:
        return line.size >= body * BOLD_SIZE_RATIO
    return line.size >= body * LARGER_SIZE_RATIO


def _drop_table_rows(candidates: list[_Line]) -> list[_Line]:
    """Cells of a table's header row that pdfium put on lines of their own: next to each
    other in reading order, on one baseline (headings atop columns are lines apart)."""
    row: set[int] = set()
    for n in range(1, len(candidates)):
        before, line = candidates[n - 1], candidates[n]
        near = line.page == before.page and line.index - before.index <= 2
        if near and abs(line.y - before.y) < 0.5 * line.size:
            row |= {n - 1, n}
    return [line for n, line in enumerate(candidates) if n not in row]


def _drop_contents(candidates: list[_Line]) -> list[_Line]:
    """A "Contents" heading and the entries under it that are headings again later."""
    remaining = Counter(_key(line.text) for line in candidates)
    kept, in_contents = [], False
    for line in candidates:
        key = _key(line.text)
        remaining[key] -= 1
        if key in CONTENTS_KEYS:
            in_contents = True
            continue
        if in_contents and remaining[key] > 0:
            continue
        in_contents = False
        kept.append(line)
    return kept


def _merge_wrapped(candidates: list[_Line]) -> list[list[_Line]]:
    """A heading too long for one line continues on the next in the same font."""
    groups: list[list[_Line]] = []
    for line in candidates:
        last = groups[-1][-1] if groups else None
        if (
            last is not None
            and line.page == last.page
            and line.index == last.index + 1
            and abs(line.size - last.size) <= SAME_SIZE
            and line.bold == last.bold
            and abs(last.y - line.y) <= 1.6 * line.size
            and not NUMBERED_RE.match(_tidy(line.text))
            and len(groups[-1]) < 3
        ):
            groups[-1].append(line)
        else:
            groups.append([line])
    return groups


def _numbered_alike(headings: list[list[_Line]]) -> list[list[_Line]]:
    """Numbered headings of one depth share a font: smaller ones ("1. Precision" in bold
    body text under "1 Introduction") are numbered list items."""
    largest: dict[int, float] = {}
    for group in headings:
        depth = _numbering_depth(_heading_text(group))
        largest[depth] = max(largest.get(depth, 0.0), group[0].size)
    return [
        group
        for group in headings
        if (depth := _numbering_depth(_heading_text(group))) == 0
        or group[0].size >= largest[depth] - SAME_SIZE
    ]


def _heading_text(group: list[_Line]) -> str:
    return _tidy(" ".join(line.text for line in group))[:MAX_TITLE_CHARS]


def _levels(headings: list[list[_Line]]) -> list[int]:
    """Numbering gives the level ("2.3" is 2); other headings take the level numbered
    headings of their size have, or rank below the sizes above them."""
    numbered: dict[float, Counter[int]] = {}
    for group in headings:
        depth = _numbering_depth(_heading_text(group))
        if depth:
            numbered.setdefault(group[0].size, Counter())[depth] += 1
    sizes = sorted({group[0].size for group in headings}, reverse=True)
    by_size: dict[float, int] = {}
    for size in sizes:
        if size in numbered:
            by_size[size] = numbered[size].most_common(1)[0][0]
        else:
            by_size[size] = max((by_size[s] for s in by_size if s > size), default=0) + 1
    return [
        min(_numbering_depth(_heading_text(group)) or by_size[group[0].size], 6)
        for group in headings
    ]


def _numbering_depth(text: str) -> int:
    match = NUMBERED_RE.match(text)
    if not match:
        return 0
    number = (match.group("num") or match.group("pnum")).rstrip(".")
    return number.count(".") + 1


# --- sections from anchors -----------------------------------------------------------


def _sections(
    anchors: list[_Anchor],
    pages: list[_Page],
    skip: set[tuple[int, int]],
    title: str | None,
    *,
    preamble: bool,
) -> list[Section]:
    """The text from each heading to the next, without running headers and footers."""
    sections = []
    if preamble and anchors:
        sections += _preamble(pages, anchors[0], skip, title)
    for n, anchor in enumerate(anchors):
        after = anchors[n + 1] if n + 1 < len(anchors) else None
        stop = (after.page, after.line) if after else None
        text, last = _span(pages, (anchor.page, anchor.line + anchor.length), stop, skip)
        sections.append(Section(title=anchor.title, level=anchor.level,
                                page_start=anchor.page + 1, page_end=max(last, anchor.page) + 1,
                                text=text))  # fmt: skip
    return sections


def _preamble(
    pages: list[_Page], first: _Anchor, skip: set[tuple[int, int]], title: str | None
) -> list[Section]:
    """Text before the first heading, when there is much of it and it is not a contents."""
    text, last = _span(pages, (0, 0), (first.page, first.line), skip)
    if len(re.sub(r"\s", "", text)) < PREAMBLE_MIN_CHARS:
        return []
    if any(_key(line) in CONTENTS_KEYS for line in text.split("\n")):
        return []
    return [Section(title=title or "Document", level=1, page_start=1, page_end=last + 1,
                    text=text)]  # fmt: skip


def _span(
    pages: list[_Page],
    start: tuple[int, int],
    stop: tuple[int, int] | None,
    skip: set[tuple[int, int]],
) -> tuple[str, int]:
    """The cleaned text from `start` up to `stop` (page, line), and its last page."""
    parts, last = [], start[0]
    end_page = stop[0] if stop else len(pages) - 1
    for p in range(start[0], end_page + 1):
        lines = pages[p].lines
        low = start[1] if p == start[0] else 0
        high = stop[1] if stop and p == stop[0] else len(lines)
        chunk = [lines[i] for i in range(low, high) if (p, i) not in skip]
        if any(line.strip() for line in chunk):
            parts.append("\n".join(chunk))
            last = p
    return _clean("\n".join(parts)), last
