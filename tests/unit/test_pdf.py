"""PDF extraction on real PDFs written by others (tests/data/pdfs/SOURCES.md), plus one
small PDF built here to hold the heading traps the real ones lack (a bold table header
row, standard fonts that report no weight)."""

from __future__ import annotations

import ctypes
import random
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest

from ultudy.errors import PdfError
from ultudy.study.pdf import ExtractedDocument, Section, extract_pdf, looks_like_pdf
from ultudy.study.pdf import reader as pdf_reader

PDFS = Path(__file__).resolve().parents[1] / "data" / "pdfs"
R_DATA = PDFS / "deb-r-doc-pdf__R-data.pdf"
CAD = PDFS / "deb-asymptote-doc__CAD.pdf"
ASY_LATEX = PDFS / "deb-asymptote-doc__asy-latex.pdf"
REFCARD = PDFS / "deb-octave-doc__refcard-a4.pdf"

R_DATA_CHAPTERS = [
    "Acknowledgements",
    "1 Introduction",
    "2 Spreadsheet-like data",
    "3 Importing from other statistical systems",
    "4 Relational databases",
    "5 Binary files",
    "6 Image files",
    "7 Connections",
    "8 Network interfaces",
    "9 Reading Excel spreadsheets",
    "A References",
    "Function and variable index",
    "Concept index",
]


def by_title(doc: ExtractedDocument) -> dict[str, Section]:
    return {s.title: s for s in doc.sections}


def assert_sane_pages(doc: ExtractedDocument) -> None:
    starts = [s.page_start for s in doc.sections]
    assert starts == sorted(starts)
    assert all(1 <= s.page_start <= s.page_end <= doc.page_count for s in doc.sections)


# --- outline -------------------------------------------------------------------------


def test_outline_gives_the_chapters_and_their_sections() -> None:
    doc = extract_pdf(R_DATA)
    assert doc.page_count == 41
    assert doc.title == "R Data Import/Export"
    assert [s.title for s in doc.sections if s.level == 1] == R_DATA_CHAPTERS
    assert {s.level for s in doc.sections} == {1, 2}
    sections = by_title(doc)
    assert sections["Imports"].level == 2
    assert "Encodings" not in sections  # level 3 of the outline: inside its parent's text
    assert "Note that utf8 is not a valid encoding name" in sections["Imports"].text
    assert_sane_pages(doc)


def test_outline_sections_are_cut_at_their_headings_within_pages() -> None:
    sections = by_title(extract_pdf(R_DATA))
    imports, export = sections["Imports"], sections["Export to text files"]
    # "1.2 Export to text files" starts halfway down page 8, where Imports ends.
    assert (imports.page_start, imports.page_end) == (7, 8)
    assert export.page_start == 8
    assert imports.text.startswith("The easiest form of data to import into R")
    assert "Export to text files" not in imports.text
    assert export.text.startswith("Exporting results from R")
    # Chapter 4 goes straight to 4.1: nothing of the next heading leaks into it.
    assert sections["4 Relational databases"].text == ""
    assert sections["Why use a database?"].text.startswith("There are limitations")


def test_running_headers_and_page_numbers_are_not_section_text() -> None:
    sections = by_title(extract_pdf(R_DATA))
    text = sections["Variations on read.table"].text
    assert "Chapter 2: Spreadsheet-like data" not in text
    assert not any(line.strip().isdigit() for line in text.splitlines())


def test_without_its_outline_the_same_manual_gets_its_headings_from_fonts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pdf_reader, "_outline", lambda _pdf, _count: [])
    doc = extract_pdf(R_DATA)
    titles = [s.title for s in doc.sections]
    assert titles[:5] == [
        "Acknowledgements",
        "1 Introduction",
        "1.1 Imports",
        "1.1.1 Encodings",
        "1.2 Export to text files",
    ]
    assert len(titles) == 43  # as many as the outline has entries
    assert by_title(doc)["4.2.1 SQL queries"].level == 3
    # The contents pages' entries, running headers and bold numbered list items
    # ("1. Precision" inside 1.2) are not headings.
    assert "Table of Contents" not in titles
    assert not any(t.startswith("Chapter") or t.startswith("1. ") for t in titles)


# --- headings from fonts -------------------------------------------------------------


def test_font_only_article_finds_its_numbered_sections_and_nothing_else() -> None:
    doc = extract_pdf(CAD)
    assert doc.title == "Asymptote package CAD.asy"  # the footnote mark "*" is smaller
    assert [(s.title, s.level) for s in doc.sections] == [
        ("1 Introduction", 1),
        ("2 Important rules for using this package", 1),
        ("3 Usage", 1),
        ("4 Example", 1),
    ]
    intro, rules, usage, example = doc.sections
    assert (intro.page_start, intro.page_end) == (1, 1)
    assert (usage.page_start, usage.page_end) == (2, 5)
    assert (example.page_start, example.page_end) == (5, 7)
    assert intro.text.startswith("The package CAD.asy provides basic pen definitions")
    assert "import CAD;" in usage.text
    assert "in future version: the order" in rules.text  # "ver-sion" joined again
    assert "Contents" not in intro.text


def test_sections_and_subsections_get_levels_and_the_title_block_is_skipped() -> None:
    doc = extract_pdf(ASY_LATEX)
    assert doc.title == "The asymptote package"
    assert [s.title for s in doc.sections if s.level == 1] == [
        "1 Introduction",
        "2 User syntax",
        "3 Processing the document",
        "4 Implementation",
    ]
    assert [s.title for s in doc.sections if s.level == 2] == [
        "2.1 Package loading and options",
        "2.2 Commands for inserting Asymptote graphics",
        "2.3 Graphics options",
        *(
            f"4.{n} {name}"
            for n, name in enumerate(
                [
                    "Allocations",
                    "Packages",
                    "Package options",
                    "Testing for PDF output",
                    "Bug squashing",
                    "Input/Output",
                    "Commands for verbatim processing environments",
                    "User interface",
                    "Keys for graphics processing",
                ],
                start=1,
            )
        ),
    ]
    # Unnumbered bold headings at body size rank below the numbered ones.
    assert [s.title for s in doc.sections if s.level == 3] == [
        "Allocations",
        "Ensuring attachfile2 is loaded if [attach] is requested",
        "Macros",
    ]
    titles = " | ".join(s.title for s in doc.sections)
    for garbage in ("Contents", "Bowman", "2021/12/29", "Abstract", "asymptote package"):
        assert garbage not in titles
    assert "integration of inline and external Asymptote" not in doc.sections[0].text
    assert_sane_pages(doc)


def test_dense_reference_card_gives_one_section_per_box() -> None:
    doc = extract_pdf(REFCARD)
    assert doc.title == "Octave Quick Reference"  # not the smaller "Octave Version 3.0.0"
    titles = [s.title for s in doc.sections]
    assert len(titles) == 41
    assert titles[:3] == ["Starting Octave", "Stopping Octave", "Getting Help"]
    assert titles[-1] == "Plotting Functions"
    # Boxes atop the three columns share a baseline: they are headings, not a table row.
    for top in ("Killing and Yanking", "Assignment Expressions", "Paths and Packages"):
        assert top in titles
    assert all(s.level == 1 and len(s.title.split()) <= 12 and s.text for s in doc.sections)
    starting = doc.sections[0]
    assert starting.text.startswith("octave start interactive Octave session")
    assert "Stopping Octave" not in starting.text
    assert_sane_pages(doc)


def _make_pdf(path: Path, pages: list[list[tuple[float, float, str, float, str]]]) -> None:
    """A PDF of text objects (x, y, standard font, size, text), one list per page."""
    pdf = pdfium.PdfDocument.new()
    for items in pages:
        page = pdf.new_page(595, 842)
        for x, y, font, size, text in items:
            obj = pdfium_c.FPDFPageObj_NewTextObj(pdf.raw, font.encode(), size)
            data = (text + "\x00").encode("utf-16-le")
            buffer = ctypes.create_string_buffer(data, len(data))
            pdfium_c.FPDFText_SetText(obj, ctypes.cast(buffer, ctypes.POINTER(pdfium_c.FPDF_WCHAR)))
            pdfium_c.FPDFPageObj_Transform(obj, 1, 0, 0, 1, x, y)
            pdfium_c.FPDFPage_InsertObject(page.raw, obj)
        pdfium_c.FPDFPage_GenerateContent(page.raw)
    pdf.save(str(path))
    pdf.close()


def _trap_pages() -> list[list[tuple[float, float, str, float, str]]]:
    def body(top: float, count: int, topic: str) -> list[tuple[float, float, str, float, str]]:
        return [
            (72, top - 14 * i, "Helvetica", 11, f"Ordinary body text about {topic}, line {i} of it")
            for i in range(count)
        ]

    def frame(page: int) -> list[tuple[float, float, str, float, str]]:
        return [
            (72, 810, "Helvetica-Bold", 11, "MATH 101 Linear Algebra"),
            (280, 30, "Helvetica", 9, f"Page {page} of 3"),
        ]

    first = [
        *frame(1),
        (72, 760, "Helvetica", 24, "Linear Algebra Notes"),
        (72, 730, "Helvetica", 14, "A. Student, Spring term"),
        *body(700, 8, "these notes"),
        (72, 560, "Helvetica-Bold", 16, "Contents"),
        (72, 540, "Helvetica-Bold", 11, "1 Vectors"),  # linked entries, no page numbers
        (72, 526, "Helvetica-Bold", 11, "2 Matrices"),
        (72, 512, "Helvetica", 11, "1.1 Dot products . . . . . . . . . . . . 2"),
    ]
    second = [
        *frame(2),
        (72, 760, "Helvetica-Bold", 16, "1 Vectors"),
        *body(735, 6, "vectors"),
        (72, 640, "Helvetica-Bold", 11, "Name"),  # a table's bold header row
        (200, 640, "Helvetica-Bold", 11, "Score"),
        (300, 640, "Helvetica-Bold", 11, "Grade"),
        (72, 626, "Helvetica", 11, "Alice"),
        (200, 626, "Helvetica", 11, "93"),
        (300, 626, "Helvetica", 11, "A"),
        (72, 590, "Helvetica-Bold", 13, "1.1 Dot products"),
        *body(565, 6, "dot products"),
        (72, 470, "Helvetica-Bold", 11, "Remember the rule."),  # emphasis, not a heading
        *body(455, 3, "the rule"),
    ]
    third = [
        *frame(3),
        (72, 760, "Helvetica-Bold", 16, "2 Matrices"),
        *body(735, 8, "matrices"),
        (72, 600, "Helvetica-Bold", 11, "Figure 1 Matrix shapes"),
        (72, 580, "Helvetica-Bold", 11, "12.5 17.25 3.75"),
    ]
    return [first, second, third]


def test_heading_traps_are_filtered(tmp_path: Path) -> None:
    path = tmp_path / "traps.pdf"
    _make_pdf(path, _trap_pages())
    doc = extract_pdf(path)
    assert doc.title == "Linear Algebra Notes"
    assert [(s.title, s.level, s.page_start) for s in doc.sections] == [
        ("1 Vectors", 1, 2),
        ("1.1 Dot products", 2, 2),
        ("2 Matrices", 1, 3),
    ]
    vectors = doc.sections[0]
    assert "Name Score Grade" in vectors.text
    assert "MATH 101" not in vectors.text
    assert "Page 2 of 3" not in vectors.text
    assert "Remember the rule." in doc.sections[1].text


# --- pages without text, damaged and unreadable files --------------------------------


def test_image_only_page_is_listed_and_extraction_completes() -> None:
    doc = extract_pdf(PDFS / "pypi-pikepdf__francais.pdf")
    assert doc.page_count == 1
    assert doc.pages_without_text == [1]
    assert doc.title is None  # its metadata title names the program: "Adobe Photoshop PDF"
    assert doc.sections == [Section(title="Document", level=1, page_start=1, page_end=1, text="")]


def test_broken_content_streams_still_extract() -> None:
    doc = extract_pdf(PDFS / "pypi-pikepdf__content-stream-errors.pdf")
    assert doc.page_count == 4
    assert doc.pages == ["Potato"] * 4
    # Six letters a page is below the text-layer threshold: a page to read from its image.
    assert doc.pages_without_text == [1, 2, 3, 4]
    [section] = doc.sections
    assert (section.page_start, section.page_end) == (1, 4)
    assert section.text.count("Potato") == 4


def test_a_blank_document_with_a_cyclic_outline_is_a_pdf_error() -> None:
    # pikepdf counts no pages; pdfium finds one page with nothing on it.
    with pytest.raises(PdfError, match="blank"):
        extract_pdf(PDFS / "pypi-pikepdf__cyclic-toc.pdf")


def test_a_pdf_with_no_pages_is_a_pdf_error(tmp_path: Path) -> None:
    objects = [b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[]/Count 0>>"]
    data, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(data))
        data += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(data)
    data += b"xref\n0 3\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    data += b"trailer\n<</Size 3/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % xref
    path = tmp_path / "empty.pdf"
    path.write_bytes(data)
    with pytest.raises(PdfError, match="no pages"):
        extract_pdf(path)


def test_encrypted_pdf_is_a_pdf_error_about_the_password() -> None:
    with pytest.raises(PdfError, match="password-protected"):
        extract_pdf(PDFS / "pypi-pypdf__crazyones-encrypted-256.pdf")


def _outcome(path: Path) -> ExtractedDocument | PdfError:
    try:
        return extract_pdf(path)
    except PdfError as exc:
        return exc


def test_fuzzed_file_extracts_or_is_a_pdf_error() -> None:
    outcome = _outcome(PDFS / "pypi-pikepdf__fuzz-378014596.pdf")
    if isinstance(outcome, PdfError):
        assert "damaged" in outcome.message
    else:
        assert outcome.page_count >= 1


def test_mangled_files_extract_or_are_pdf_errors(tmp_path: Path) -> None:
    rng = random.Random(378014596)
    sources = [CAD.read_bytes(), REFCARD.read_bytes()]
    for n in range(24):
        data = bytearray(rng.choice(sources))
        if n % 3 == 0:
            data = data[: rng.randrange(len(data))]
        else:
            for _ in range(rng.randint(1, 40)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        path = tmp_path / f"mangled-{n}.pdf"
        path.write_bytes(bytes(data))
        assert isinstance(_outcome(path), (ExtractedDocument, PdfError))


def test_truncated_and_non_pdf_files_are_pdf_errors(tmp_path: Path) -> None:
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(CAD.read_bytes()[:1000])
    text = tmp_path / "notes.pdf"
    text.write_text("Just some notes, saved with the wrong name.\n")
    for path in (cut, text):
        with pytest.raises(PdfError, match="truncated or damaged"):
            extract_pdf(path)


def test_a_missing_file_is_not_blamed_on_the_upload(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        extract_pdf(tmp_path / "gone.pdf")


# --- sniffing and progress -----------------------------------------------------------


def test_pdf_sniffing_is_by_content() -> None:
    assert looks_like_pdf(CAD.read_bytes()[:2048])
    assert looks_like_pdf(b"\xef\xbb\xbf" + b"x" * 1021 + b"%PDF-1.4\n")  # 1024 junk bytes
    assert not looks_like_pdf(b"x" * 1025 + b"%PDF-1.4\n")
    assert not looks_like_pdf(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert not looks_like_pdf((PDFS / "SOURCES.md").read_bytes()[:2048])
    assert not looks_like_pdf(b"")


def test_on_page_reports_each_page_once_in_order() -> None:
    seen: list[tuple[int, int]] = []
    extract_pdf(R_DATA, on_page=lambda done, total: seen.append((done, total)))
    assert seen == [(n, 41) for n in range(1, 42)]


def test_on_page_may_stop_the_extraction() -> None:
    class Stop(Exception):
        pass

    def stop(done: int, _total: int) -> None:
        if done == 2:
            raise Stop

    with pytest.raises(Stop):
        extract_pdf(CAD, on_page=stop)
    assert extract_pdf(CAD).page_count == 7  # the pdfium lock was released
