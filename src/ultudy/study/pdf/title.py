"""The document's title: from its metadata when that names the work, else its first page."""

from __future__ import annotations

import re

from ultudy.study.pdf.lines import MAX_TITLE_CHARS, NUMBERED_RE, SAME_SIZE, letters, tidy
from ultudy.study.pdf.model import Line, Page

TITLE_SIZE_RATIO = 1.12
GENERIC_TITLES = frozenset(
    {
        "untitled",
        "document",
        "title",
        "notitle",
        "none",
        "unknown",
        "presentation",
        "powerpointpresentation",
        "slide",
        "pdf",
        "print",
        "microsoftword",
    }
)


FILE_NAME_RE = re.compile(
    r"\.(?:pdf|docx?|dvi|tex|pptx?|xlsx?|odt|odp|rtf|txt|html?|e?ps|indd|qxd|key|pages)$",
    re.IGNORECASE,
)


APP_PREFIX_RE = re.compile(r"^microsoft (?:word|powerpoint|excel) - ", re.IGNORECASE)


def metadata_title(meta: dict[str, str]) -> str | None:
    title = APP_PREFIX_RE.sub("", tidy(meta.get("Title") or ""))
    if len(title) < 3 or letters(title) < 2 or FILE_NAME_RE.search(title):
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


def line_title(lines: list[Line]) -> str | None:
    return tidy(" ".join(line.top_text for line in lines))[:MAX_TITLE_CHARS] or None


def title_lines(pages: list[Page], body: float, *, unique: bool) -> list[Line]:
    """The first page's largest-font lines, if they stand out (and, with `unique`, if no
    later page has text that large: then they are headings, not a title)."""
    first = [line for line in pages[0].fonts or [] if letters(line.top_text) >= 2]
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
    return [] if NUMBERED_RE.match(tidy(block[0].text)) else block
