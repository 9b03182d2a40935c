"""A document's sections: the text from each heading to the next, without running
headers and footers; and the whole layout (title and sections) of a read document."""

from __future__ import annotations

import re

from ultudy.study.pdf.headings import CONTENTS_KEYS, body_size, heading_anchors
from ultudy.study.pdf.lines import clean, line_shape, title_key
from ultudy.study.pdf.model import Anchor, Page, Section
from ultudy.study.pdf.outline import outline_anchors
from ultudy.study.pdf.title import line_title, metadata_title, title_lines

PREAMBLE_MIN_CHARS = 500  # text before the first heading worth a section of its own
RUNNING_MIN_PAGES = 3
RUNNING_PAGE_SHARE = 0.4
PAGE_NUMBER_RE = re.compile(
    r"(?:page\s*)?#(?:\s*(?:of|/)\s*#)?|[-–—\s]*#[-–—\s]*"
    r"|(?=[ivxlc])c{0,3}(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3})"  # roman: front matter
)


def running_lines(pages: list[Page]) -> set[tuple[int, int]]:
    """(page, line) of headers and footers: page numbers, and lines that open or close
    many pages alike (numbers aside)."""
    spots: dict[str, list[tuple[int, int]]] = {}
    for p, page in enumerate(pages):
        count = len(page.lines)
        for i in sorted({0, 1, count - 2, count - 1} & set(range(count))):
            shape = line_shape(page.lines[i])
            if PAGE_NUMBER_RE.fullmatch(shape) or count >= 3:
                spots.setdefault(shape, []).append((p, i))
    running: set[tuple[int, int]] = set()
    for shape, where in spots.items():
        seen_on = len({p for p, _ in where})
        common = seen_on >= RUNNING_MIN_PAGES or seen_on >= max(2, RUNNING_PAGE_SHARE * len(pages))
        if common or PAGE_NUMBER_RE.fullmatch(shape):
            running.update(where)
    return running


def build_sections(
    anchors: list[Anchor],
    pages: list[Page],
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
        sections.append(
            Section(
                title=anchor.title,
                level=anchor.level,
                page_start=anchor.page + 1,
                page_end=max(last, anchor.page) + 1,
                text=text,
            )
        )
    return sections


def _preamble(
    pages: list[Page], first: Anchor, skip: set[tuple[int, int]], title: str | None
) -> list[Section]:
    """Text before the first heading, when there is much of it and it is not a contents."""
    text, last = _span(pages, (0, 0), (first.page, first.line), skip)
    if len(re.sub(r"\s", "", text)) < PREAMBLE_MIN_CHARS:
        return []
    if any(title_key(line) in CONTENTS_KEYS for line in text.split("\n")):
        return []
    return [Section(title=title or "Document", level=1, page_start=1, page_end=last + 1, text=text)]


def _span(
    pages: list[Page],
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
    return clean("\n".join(parts)), last


def layout(
    pages: list[Page], outline: list[tuple[int, str, int]], metadata: dict[str, str]
) -> tuple[str | None, list[Section]]:
    """The document's title and sections, from its outline when it has one (entries as
    `outline.top_entries` keeps them), else from its headings."""
    body = body_size(pages)
    first_lines = title_lines(pages, body, unique=not outline)
    title = metadata_title(metadata) or line_title(first_lines)
    running = running_lines(pages)
    if outline:
        anchors = outline_anchors(outline, pages)
    else:
        anchors = heading_anchors(pages, body, first_lines, running)
    sections = build_sections(anchors, pages, running, title, preamble=not outline)
    return title, sections or [_whole(pages, title)]


def _whole(pages: list[Page], title: str | None) -> Section:
    """One section for a document without headings: all of its text."""
    texts = [clean("\n".join(page.lines)) for page in pages]
    return Section(
        title=title or "Document",
        level=1,
        page_start=1,
        page_end=len(pages),
        text="\n\n".join(text for text in texts if text),
    )
