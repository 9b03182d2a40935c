"""The PDF layout rules on lines made up by hand: no PDF, no pdfium.

`reader` turns pdfium's pages into `Line` and `Page` values; everything after that
(headings, running headers and footers, the table of contents, outline levels, the title)
is a pure function of those values, so each rule is checked here on a few lines.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

import pytest

from ultudy.study.pdf.headings import is_heading
from ultudy.study.pdf.model import Line, Page, Section
from ultudy.study.pdf.outline import top_entries
from ultudy.study.pdf.sections import layout, running_lines
from ultudy.study.pdf.title import metadata_title

BODY = 10.0
_LINES = itertools.count(26)
HEADER = "R Data Import/Export"

Spec = tuple[str, float, bool]  # text, font size, bold


def line(text: str, *, size: float = BODY, bold: bool = False, **changes: Any) -> Line:
    made = Line(
        page=0,
        index=0,
        text=text,
        size=size,
        bold=bold,
        mono=False,
        chars=len(text.replace(" ", "")),
        cells=1,
        y=700.0,
        top_size=size,
        top_text=text,
    )
    return replace(made, **changes)


def page(number: int, specs: list[Spec]) -> Page:
    fonts = [
        line(text, size=size, bold=bold, page=number, index=index, y=800.0 - 14 * index)
        for index, (text, size, bold) in enumerate(specs)
    ]
    return Page(
        lines=[font.text for font in fonts],
        fonts=fonts,
        objects=1,
        chars=sum(font.chars for font in fonts),
    )


def prose(count: int) -> list[Spec]:
    """Lines of body text, each different (alike lines atop pages would be running headers)."""
    return [
        (f"Data can be read from source {_name(next(_LINES))} with its own rules.", BODY, False)
        for _ in range(count)
    ]


def _name(number: int) -> str:
    """A word of letters only: numbers in lines that open or close pages are blanked out."""
    return _name(number // 26) + chr(ord("a") + number % 26) if number else ""


def text_of(specs: list[Spec]) -> str:
    return "\n".join(text for text, _, _ in specs)


def outline_of(sections: list[Section]) -> list[tuple[str, int, int]]:
    return [(section.title, section.level, section.page_start) for section in sections]


# --- which lines are headings -------------------------------------------------------------


def test_a_numbered_bold_body_size_line_is_a_heading_in_regular_weight_it_is_not() -> None:
    assert is_heading(line("2.1 Reading files", bold=True), BODY)
    assert not is_heading(line("2.1 Reading files"), BODY)


def test_a_light_heading_must_be_clearly_larger_than_body_text() -> None:
    assert is_heading(line("Reading files", size=12.0), BODY)
    assert not is_heading(line("Reading files", size=10.5), BODY)


@pytest.mark.parametrize(
    ("text", "changes"),
    [
        ("Files are read line by line.", {}),  # a sentence
        ("Figure 3 The flow of data", {}),  # a caption
        ("2.1 Reading files . . . . . . . 12", {}),  # a contents entry, dot leaders
        ("2.1 Reading files 12", {}),  # a contents entry, page number
        ("2.1 Reading files", {"mono": True}),  # code
        ("2.1 Reading files", {"cells": 2}),  # a table row
        ("One two three four five six seven eight nine ten eleven twelve thirteen", {}),
    ],
)
def test_sentences_captions_contents_code_and_table_rows_are_not_headings(
    text: str, changes: dict[str, Any]
) -> None:
    assert not is_heading(line(text, bold=True, size=14.0, **changes), BODY)


def test_levels_come_from_the_numbering_and_unnumbered_headings_rank_by_size() -> None:
    intro = prose(5)
    pages = [
        page(
            0,
            [
                ("1 Introduction", 14, True),
                *intro,
                ("Reading files", BODY, True),
                *prose(4),
                ("1.1 Scope", 12, True),
                *prose(4),
            ],
        ),
        page(1, [("2 Spreadsheets", 14, True), *prose(8)]),
    ]

    _, sections = layout(pages, [], {})

    assert outline_of(sections) == [
        ("1 Introduction", 1, 1),
        ("Reading files", 3, 1),  # bold at body size, below the sizes of the numbered ones
        ("1.1 Scope", 2, 1),
        ("2 Spreadsheets", 1, 2),
    ]
    assert sections[0].text == text_of(intro)


def test_a_numbered_line_smaller_than_its_depths_headings_is_a_list_item() -> None:
    pages = [
        page(0, [("1 Introduction", 14, True), *prose(4), ("1. Precision", BODY, True), *prose(4)]),
        page(1, [("2 Method", 14, True), *prose(6)]),
    ]

    _, sections = layout(pages, [], {})

    assert outline_of(sections) == [("1 Introduction", 1, 1), ("2 Method", 1, 2)]
    assert "1. Precision" in sections[0].text


# --- running headers, footers and the table of contents ----------------------------------


def test_running_headers_and_page_numbers_are_dropped() -> None:
    pages = [
        page(
            n,
            [
                (HEADER, 9, False),
                *([("2 Spreadsheets", 14, True)] if n == 1 else []),
                *prose(6),
                (str(n + 1), 9, False),
            ],
        )
        for n in range(4)
    ]

    running = running_lines(pages)
    _, sections = layout(pages, [], {})

    assert {(n, 0) for n in range(4)} <= running
    assert {(n, len(pages[n].lines) - 1) for n in range(4)} <= running
    assert not running & {(n, 3) for n in range(4)}  # body text stays
    # Page 1 is too short for a section of its own before the first heading.
    assert [(s.title, s.page_start, s.page_end) for s in sections] == [("2 Spreadsheets", 2, 4)]
    assert all(HEADER not in section.text for section in sections)
    assert all(not text.isdigit() for s in sections for text in s.text.split("\n"))


def test_the_table_of_contents_is_dropped() -> None:
    chapters = ["1 Introduction", "2 Method", "3 Results", "4 Discussion", "5 Summary"]
    contents = [("Contents", 14, True), *((title, 14.0, True) for title in chapters)]
    pages = [page(0, [*contents, *prose(2)])]
    pages += [page(n + 1, [(title, 14, True), *prose(6)]) for n, title in enumerate(chapters)]

    _, sections = layout(pages, [], {})

    assert outline_of(sections) == [(title, 1, n + 2) for n, title in enumerate(chapters)]


# --- the outline --------------------------------------------------------------------------


def test_outline_keeps_the_top_two_levels_in_page_order() -> None:
    entries = [
        (0, "R Data Import/Export", 0),  # one root around everything: the document
        (1, "Introduction", 0),
        (1, "Spreadsheets", 3),
        (2, "Reading Excel files", 4),
        (3, "A detail", 4),  # level 3 under the root: too deep
        (2, "Encodings", 1),
        (1, "Nowhere", -1),  # no page
    ]

    assert top_entries(entries) == [
        (0, "Introduction", 0),
        (1, "Encodings", 1),
        (0, "Spreadsheets", 3),
        (1, "Reading Excel files", 4),
    ]
    assert top_entries([(0, "Only one", 0)]) == []


def test_outline_sections_are_levels_1_and_2_split_where_their_titles_are() -> None:
    intro = prose(3)
    pages = [
        page(0, [("Introduction", 14, True), *intro, ("Scope", 12, True), *prose(3)]),
        page(1, [("Usage", 14, True), *prose(3)]),
    ]
    outline = [(0, "Introduction", 0), (1, "Scope", 0), (0, "Usage", 1)]

    _, sections = layout(pages, outline, {})

    assert outline_of(sections) == [("Introduction", 1, 1), ("Scope", 2, 1), ("Usage", 1, 2)]
    assert sections[0].text == text_of(intro)  # up to "Scope", not past it


# --- the title ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ({"Title": "Microsoft Word - Lecture 3 Notes"}, "Lecture 3 Notes"),
        ({"Title": "lecture3.docx"}, None),  # a file name
        ({"Title": "Untitled"}, None),
        ({"Title": "Adobe Photoshop PDF", "Creator": "Adobe Photoshop CC 2015"}, None),
    ],
)
def test_metadata_title_only_when_it_names_the_work(
    meta: dict[str, str], expected: str | None
) -> None:
    assert metadata_title(meta) == expected


def test_the_first_pages_large_lines_are_the_title_not_a_section() -> None:
    pages = [
        page(
            0, [("Importing Data", 20, False), *prose(4), ("1 Introduction", 14, True), *prose(4)]
        ),
        page(1, [("2 Method", 14, True), *prose(6)]),
    ]

    title, sections = layout(pages, [], {})

    assert title == "Importing Data"
    assert outline_of(sections) == [("1 Introduction", 1, 1), ("2 Method", 1, 2)]
