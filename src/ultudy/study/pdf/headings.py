"""Sections from fonts: which lines are headings, and their levels.

A heading is a short line that is bold at about body size or clearly larger than body
text; numbered headings ("2.3 Foo") get their level from the numbering. The usual traps
are filtered out: the title block, the table of contents, running headers and footers,
code, captions and table rows.
"""

from __future__ import annotations

import re
from collections import Counter

from ultudy.study.pdf.lines import (
    MAX_HEADING_WORDS,
    MAX_TITLE_CHARS,
    NUMBERED_RE,
    SAME_SIZE,
    letters,
    numbering_depth,
    tidy,
    title_key,
)
from ultudy.study.pdf.model import Anchor, Line, Page

BOLD_SIZE_RATIO = 0.95  # a bold heading is at least about body size
LARGER_SIZE_RATIO = 1.15  # a light heading is clearly larger than body text
MAX_HEADING_CHARS = 150
TITLE_PAGE_BODY_CHARS = 200  # less body text than this on page 1: it is a title page
DEFAULT_BODY_SIZE = 10.0


# Dot leaders, or a numbered heading followed by its page number ("3 Usage 2").
TOC_ENTRY_RE = re.compile(r"(?:\.\s*){3,}\S*$|…\s*\S*$|^\d{1,2}(?:\.\d{1,2})*\.?\s+\D.*\s\d{1,4}$")
CAPTION_RE = re.compile(r"^(?:figure|fig\.|table|listing|algorithm|equation)\s*\d", re.IGNORECASE)
CONTENTS_KEYS = frozenset({"contents", "tableofcontents", "listoffigures", "listoftables"})


def body_size(pages: list[Page]) -> float:
    """The size most characters have, code aside (listings are often smaller)."""
    lines = [line for page in pages for line in page.fonts or []]
    sizes: Counter[float] = Counter()
    for line in [line for line in lines if not line.mono] or lines:
        sizes[line.size] += line.chars
    return sizes.most_common(1)[0][0] if sizes else DEFAULT_BODY_SIZE


def heading_anchors(
    pages: list[Page], body: float, title_lines: list[Line], running: set[tuple[int, int]]
) -> list[Anchor]:
    skip = running | {(line.page, line.index) for line in title_lines}
    skip |= _front_matter(pages, body, title_lines, running)
    lines = [line for page in pages for line in page.fonts or []]
    candidates = [
        line for line in lines if (line.page, line.index) not in skip and is_heading(line, body)
    ]
    candidates = _drop_contents(_drop_table_rows(candidates))
    headings = _numbered_alike(_merge_wrapped(candidates))
    levels = _levels(headings)
    return [
        Anchor(
            page=group[0].page,
            line=group[0].index,
            length=len(group),
            title=_heading_text(group),
            level=level,
        )
        for group, level in zip(headings, levels, strict=True)
    ]


def _front_matter(
    pages: list[Page], body: float, title_lines: list[Line], running: set[tuple[int, int]]
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
    lines: list[Line], order: range, body: float, running: set[tuple[int, int]]
) -> set[tuple[int, int]]:
    """First-page lines in `order` up to the first bold, body-size or numbered one."""
    block = set()
    for i in order:
        line = lines[i]
        if (0, i) in running:
            continue
        at_body = abs(line.size - body) <= SAME_SIZE
        if line.bold or at_body or NUMBERED_RE.match(tidy(line.text)):
            break
        block.add((0, i))
    return block


def is_heading(line: Line, body: float) -> bool:
    text = tidy(line.text)
    words = text.split()
    if line.cells > 1 or line.mono or not 0 < len(words) <= MAX_HEADING_WORDS:
        return False
    if len(text) > MAX_HEADING_CHARS or text.endswith((".", ",", ";", ":")):
        return False
    visible = len(text) - text.count(" ")
    if letters(text) < max(2, visible // 2) or CAPTION_RE.match(text):
        return False
    if TOC_ENTRY_RE.search(text):
        return False
    if line.bold:
        return line.size >= body * BOLD_SIZE_RATIO
    return line.size >= body * LARGER_SIZE_RATIO


def _drop_table_rows(candidates: list[Line]) -> list[Line]:
    """Cells of a table's header row that pdfium put on lines of their own: next to each
    other in reading order, on one baseline (headings atop columns are lines apart)."""
    row: set[int] = set()
    for n in range(1, len(candidates)):
        before, line = candidates[n - 1], candidates[n]
        near = line.page == before.page and line.index - before.index <= 2
        if near and abs(line.y - before.y) < 0.5 * line.size:
            row |= {n - 1, n}
    return [line for n, line in enumerate(candidates) if n not in row]


def _drop_contents(candidates: list[Line]) -> list[Line]:
    """A "Contents" heading and the entries under it that are headings again later."""
    remaining = Counter(title_key(line.text) for line in candidates)
    kept, in_contents = [], False
    for line in candidates:
        key = title_key(line.text)
        remaining[key] -= 1
        if key in CONTENTS_KEYS:
            in_contents = True
            continue
        if in_contents and remaining[key] > 0:
            continue
        in_contents = False
        kept.append(line)
    return kept


def _merge_wrapped(candidates: list[Line]) -> list[list[Line]]:
    """A heading too long for one line continues on the next in the same font."""
    groups: list[list[Line]] = []
    for line in candidates:
        last = groups[-1][-1] if groups else None
        if (
            last is not None
            and line.page == last.page
            and line.index == last.index + 1
            and abs(line.size - last.size) <= SAME_SIZE
            and line.bold == last.bold
            and abs(last.y - line.y) <= 1.6 * line.size
            and not NUMBERED_RE.match(tidy(line.text))
            and len(groups[-1]) < 3
        ):
            groups[-1].append(line)
        else:
            groups.append([line])
    return groups


def _numbered_alike(headings: list[list[Line]]) -> list[list[Line]]:
    """Numbered headings of one depth share a font: smaller ones ("1. Precision" in bold
    body text under "1 Introduction") are numbered list items."""
    largest: dict[int, float] = {}
    for group in headings:
        depth = numbering_depth(_heading_text(group))
        largest[depth] = max(largest.get(depth, 0.0), group[0].size)
    return [
        group
        for group in headings
        if (depth := numbering_depth(_heading_text(group))) == 0
        or group[0].size >= largest[depth] - SAME_SIZE
    ]


def _heading_text(group: list[Line]) -> str:
    return tidy(" ".join(line.text for line in group))[:MAX_TITLE_CHARS]


def _levels(headings: list[list[Line]]) -> list[int]:
    """Numbering gives the level ("2.3" is 2); other headings take the level numbered
    headings of their size have, or rank below the sizes above them."""
    numbered: dict[float, Counter[int]] = {}
    for group in headings:
        depth = numbering_depth(_heading_text(group))
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
        min(numbering_depth(_heading_text(group)) or by_size[group[0].size], 6)
        for group in headings
    ]
