"""What reading a PDF gives (`ExtractedDocument`, `Section`) and the layout it works on.

`Line`, `Page` and `Anchor` are plain values: the layout rules (`headings`, `outline`,
`title`, `sections`) take them, not pdfium objects, so they can be tested on lines made
up by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


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


def with_page_texts(doc: ExtractedDocument, texts: dict[int, str]) -> ExtractedDocument:
    """The document with text read elsewhere (a vision model) added to its pages' sections."""
    pages = [texts.get(n + 1) or text for n, text in enumerate(doc.pages)]
    sections = []
    for section in doc.sections:
        extra = [texts[p] for p in range(section.page_start, section.page_end + 1) if texts.get(p)]
        text = "\n\n".join([section.text, *extra]).strip() if extra else section.text
        sections.append(replace(section, text=text))
    return replace(doc, pages=pages, sections=sections)


@dataclass(frozen=True, kw_only=True)
class Line:
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
class Page:
    lines: list[str]  # non-blank text lines in pdfium's reading order
    fonts: list[Line] | None = None  # the same lines with their fonts, when analysed
    objects: int = 0
    chars: int = 0  # as pdfium counts them
    readable: bool = True


@dataclass(frozen=True, kw_only=True)
class Anchor:
    """Where a section's heading is: its first line and how many lines it takes."""

    page: int
    line: int
    length: int
    title: str
    level: int
