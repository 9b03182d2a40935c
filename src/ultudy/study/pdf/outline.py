"""Sections from the PDF's outline (bookmarks): which entries, and where on the page."""

from __future__ import annotations

from ultudy.study.pdf.lines import title_key
from ultudy.study.pdf.model import Anchor, Page

MAX_OUTLINE_LEVEL = 1  # outline levels kept as sections (0 = chapters, 1 = sections)
Entry = tuple[int, str, int]
"""An outline entry: (level, title, 0-based page or -1); level 0 is the top."""


def top_entries(entries: list[Entry]) -> list[Entry]:
    """The usable top outline entries, in page order: none unless at least two."""
    roots = [entry for entry in entries if entry[0] == 0]
    if len(roots) == 1 and any(entry[0] == 1 for entry in entries):
        # One root holding everything is the document itself: its children are chapters.
        entries = [(level - 1, title, page) for level, title, page in entries if level > 0]
    kept = [entry for entry in entries if entry[0] <= MAX_OUTLINE_LEVEL and entry[2] >= 0]
    kept.sort(key=lambda entry: entry[2])  # stable: outline order within a page
    return kept if len(kept) >= 2 else []


def outline_anchors(entries: list[Entry], pages: list[Page]) -> list[Anchor]:
    """Each entry's heading found on its page, so sections split within pages too."""
    anchors: list[Anchor] = []
    for level, title, page in entries:
        after = anchors[-1] if anchors and anchors[-1].page == page else None
        start = after.line + after.length if after else 0
        line, length = _locate(pages[page].lines, title, start) or (start, 0)
        anchors.append(Anchor(page=page, line=line, length=length, title=title, level=level + 1))
    return anchors


def _locate(lines: list[str], title: str, start: int) -> tuple[int, int] | None:
    """The line (or two wrapped lines) from `start` on that read as the title."""
    key = title_key(title)
    if not key:
        return None
    for i in range(start, len(lines)):
        here = title_key(lines[i])
        if here == key:
            return i, 1
        wrapped = here and key.startswith(here) and i + 1 < len(lines)
        if wrapped and title_key(lines[i] + " " + lines[i + 1]) == key:
            return i, 2
    return None
