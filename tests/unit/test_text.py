"""Text helpers on real PDF text (tests/data/sections, see SOURCES.md) and on edge cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from ultudy.study.text import (
    FILLER_WORDS,
    GRADER_STOPWORDS,
    MEANING_WORDS,
    STOPWORDS,
    content_tokens,
    is_prose,
    is_running_header,
    normalize,
    paragraphs,
    singular,
    split_sentences,
    stem,
    text_hash,
    tokenize,
)

SECTIONS = Path(__file__).resolve().parents[1] / "data" / "sections" / "r-data"


def read(name: str) -> str:
    return (SECTIONS / name).read_text(encoding="utf-8")


# --- Sentences -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Use a solvent, e.g. water. It works.",
            ["Use a solvent, e.g. water.", "It works."],
        ),
        (
            "See Fig. 3 for the curve. The slope is 2.5 per day.",
            ["See Fig. 3 for the curve.", "The slope is 2.5 per day."],
        ),
        (
            "Dr. Smith and J. Watson wrote it, i.e. both of them. Then they left.",
            ["Dr. Smith and J. Watson wrote it, i.e. both of them.", "Then they left."],
        ),
        ("Is it? Yes! “Quoted.” Next.", ["Is it?", "Yes!", "“Quoted.”", "Next."]),
        ("Pi is 3.14159 exactly. Not quite.", ["Pi is 3.14159 exactly.", "Not quite."]),
        ("Apples, pears, etc. Then plums.", ["Apples, pears, etc.", "Then plums."]),
        ("Apples, pears, etc. and plums.", ["Apples, pears, etc. and plums."]),
        ("The U.S. Army is large. It is old.", ["The U.S. Army is large.", "It is old."]),
    ],
)
def test_split_sentences_handles_abbreviations_and_decimals(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_split_sentences_on_real_pdf_text() -> None:
    sentences = split_sentences(read("29-types-of-connections.txt"))

    # A sentence wrapped over two PDF lines comes back whole.
    assert (
        "The most familiar type of connection will be a file, and file connections are "
        "created by function file."
    ) in sentences
    # "in R. They" ends a sentence: a one-letter name before a period is not an initial.
    assert "These exist as terminal connections in R." in sentences
    assert (
        "They may be normal files, but they might also refer to input from and output to a GUI console."
        in sentences
    )
    # A sentence may start with a lower-case code name.
    assert any(s.startswith("stdout and stderr are conventionally used") for s in sentences)
    # The running header on the page break is not glued into a sentence.
    assert not any("Chapter 7" in s for s in sentences)
    assert all(s == s.strip() and s for s in sentences)


def test_split_sentences_keeps_list_labels_and_code_apart() -> None:
    sentences = split_sentences(read("07-variations-on-read-table.txt"))

    assert "1. Encoding" in sentences  # a list item's label and title, not "1." + "Encoding"
    assert 'read.table("file.dat", fileEncoding="latin1")' in sentences
    assert (
        "The function read.table is the most convenient way to read in a rectangular grid of data."
    ) in sentences


def test_split_sentences_of_nothing() -> None:
    assert split_sentences("") == []
    assert split_sentences("  \n\n ") == []


# --- Cleaning --------------------------------------------------------------------------


def test_normalize_joins_pdfium_hyphenation() -> None:
    raw = read("17-why-use-a-database.txt")
    assert "manip\ufffeulated" in raw

    text = normalize(raw)

    assert "\ufffe" not in text
    assert "manipulated by R are resident in memory" in text


def test_normalize_keeps_a_real_hyphen_after_an_acronym() -> None:
    assert "DBMS\ufffespecific" in read("20-data-types.txt")
    assert "is DBMS-specific, but" in " ".join(paragraphs(normalize(read("20-data-types.txt"))))


def test_normalize_joins_hyphen_breaks_only_into_known_words() -> None:
    text = "The multi-\nway table and the con-\nnection; a connection is a thing."
    assert normalize(text) == "The multi-way table and the connection; a connection is a thing."


def test_normalize_drops_running_headers_page_numbers_and_url_asides() -> None:
    raw = read("29-types-of-connections.txt")
    assert "Chapter 7: Connections 27" in raw

    text = normalize(raw)

    assert "Chapter 7: Connections" not in text
    assert all(not line.strip().isdigit() for line in text.splitlines())
    intro = normalize(read("01-1-introduction.txt"))
    assert "https://" not in intro  # "(https://CRAN.R-project.org/package=survival)" asides
    assert "use package survival in S for the analysis" in " ".join(paragraphs(intro))


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Chapter 7: Connections 27", True),
        ("Chapter 2: Spreadsheet-like data 9", True),
        ("12", True),
        ("Page 3 of 10", True),
        ("Week 3: Sorting and searching 12", True),  # the PDF reader's division words too
        ("Module 2 Recursion 41", True),
        ("7 Connections", False),
        ("There are 27 connections.", False),
    ],
)
def test_is_running_header(line: str, expected: bool) -> None:
    assert is_running_header(line) is expected


def test_paragraphs_rebuild_wrapped_lines_and_keep_short_lines_apart() -> None:
    blocks = paragraphs(normalize(read("07-variations-on-read-table.txt")))

    assert blocks[0].startswith("The function read.table is the most convenient way")
    assert "2. Header line" in blocks
    assert all("\n" not in block for block in blocks)


# --- Tokens ----------------------------------------------------------------------------


def test_tokenize_keeps_dotted_names_contractions_and_numbers() -> None:
    assert tokenize("Don't use read.table on UTF-8 files, 3.14 times!") == [
        "don't",
        "use",
        "read.table",
        "on",
        "utf-8",
        "files",
        "3.14",
        "times",
    ]


def test_stopwords_and_content_tokens() -> None:
    assert isinstance(STOPWORDS, frozenset)
    assert {"the", "is", "of", "which"} <= STOPWORDS
    assert not {"data", "file", "connection", "memory"} & STOPWORDS
    assert content_tokens("The file is a connection to the data.") == ["file", "connection", "data"]


def test_grader_stopwords_are_the_shared_list_with_named_differences() -> None:
    assert GRADER_STOPWORDS == (STOPWORDS - MEANING_WORDS) | FILLER_WORDS
    assert {"before", "after"} & GRADER_STOPWORDS == {"after"}  # "before" can flip a meaning
    assert {"basically", "thing"} <= GRADER_STOPWORDS
    assert not {"basically", "thing"} & STOPWORDS


@pytest.mark.parametrize(
    ("words", "singular_form", "stem_form"),
    [
        (("connection", "connections"), "connection", "connect"),
        (("library", "libraries"), "library", "librari"),
        (("key", "keys"), "key", "key"),
        (("city", "cities"), "city", "citi"),
        (("increase", "increases", "increased", "increasing"), None, "increas"),
        (("class", "classes"), "class", "class"),
    ],
)
def test_singular_is_a_word_and_stem_conflates_inflections(
    words: tuple[str, ...], singular_form: str | None, stem_form: str
) -> None:
    if singular_form is not None:
        assert {singular(word) for word in words} == {singular_form}
    assert {stem(word) for word in words} == {stem_form}


def test_is_prose() -> None:
    assert is_prose("Text connections are another source of input.")
    assert not is_prose('read.table("file.dat", header = TRUE, row.names = 1)')
    assert not is_prose("2. Header line")
    assert not is_prose("Encoding")
    assert not is_prose("1. To provide fast access to selected parts of large databases.")


def test_text_hash_is_stable() -> None:
    assert text_hash("a", "b") == text_hash("a", "b")
    assert text_hash("a", "b") != text_hash("ab")
    assert text_hash("") == 16406829232824261652  # the same in every process and run
