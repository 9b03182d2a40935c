"""PDF extraction on real PDFs written by others (tests/data/pdfs/SOURCES.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ultudy.errors import PdfError
from ultudy.study.pdf import extract_pdf, looks_like_pdf

PDFS = Path(__file__).resolve().parents[1] / "data" / "pdfs"


def titles(name: str) -> list[str]:
    return [s.title for s in extract_pdf(PDFS / name).sections]


def test_outline_gives_the_chapters_and_sections() -> None:
    doc = extract_pdf(PDFS / "deb-r-doc-pdf__R-data.pdf")
    assert doc.page_count == 41
    assert doc.title == "R Data Import/Export"
    names = [s.title for s in doc.sections]
    assert names[:3] == ["Acknowledgements", "1 Introduction", "Imports"]
    assert "2 Spreadsheet-like data" in names
    assert all(1 <= s.page_start <= s.page_end <= 41 for s in doc.sections)
    imports = next(s for s in doc.sections if s.title == "Imports")
    assert "Encodings" in imports.text or len(imports.text) > 500


def test_font_only_article_finds_numbered_sections_not_the_title_or_contents() -> None:
    doc = extract_pdf(PDFS / "deb-asymptote-doc__CAD.pdf")
    assert doc.title == "Asymptote package CAD.asy*"
    assert [s.title for s in doc.sections] == [
        "1 Introduction",
        "2 Important rules for using this package",
        "3 Usage",
        "4 Example",
    ]
    usage = doc.sections[2]
    assert (usage.page_start, usage.page_end) == (2, 5)
    assert "import CAD;" in usage.text


def test_subsections_get_deeper_levels_and_author_lines_are_not_headings() -> None:
    doc = extract_pdf(PDFS / "deb-asymptote-doc__asy-latex.pdf")
    by_title = {s.title: s for s in doc.sections}
    assert doc.sections[0].title == "1 Introduction"
    assert by_title["2 User syntax"].level == 1
    assert by_title["2.1 Package loading and options"].level == 2
    assert not any("Bowman" in t or t == "Contents" for t in by_title)


def test_dense_reference_card_gives_many_short_sections() -> None:
    names = titles("deb-octave-doc__refcard-a4.pdf")
    assert "Starting Octave" in names
    assert len(names) >= 20
    assert all(len(n.split()) <= 14 for n in names)


def test_image_only_page_is_listed_and_extraction_completes() -> None:
    doc = extract_pdf(PDFS / "pypi-pikepdf__francais.pdf")
    assert doc.pages_without_text == [1]
    assert len(doc.sections) == 1


def test_broken_content_streams_still_extract() -> None:
    doc = extract_pdf(PDFS / "pypi-pikepdf__content-stream-errors.pdf")
    assert doc.page_count == 4


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("pypi-pypdf__crazyones-encrypted-256.pdf", "password"),
        ("pypi-pikepdf__fuzz-378014596.pdf", "may be damaged"),
    ],
)
def test_unreadable_files_raise_a_clear_pdf_error(name: str, fragment: str) -> None:
    with pytest.raises(PdfError, match=fragment):
        extract_pdf(PDFS / name)


def test_truncated_file_is_a_pdf_error(tmp_path: Path) -> None:
    cut = tmp_path / "cut.pdf"
    cut.write_bytes((PDFS / "deb-asymptote-doc__CAD.pdf").read_bytes()[:20000])
    with pytest.raises(PdfError, match="truncated or damaged"):
        extract_pdf(cut)


def test_pdf_sniffing_is_by_content() -> None:
    assert looks_like_pdf((PDFS / "deb-asymptote-doc__CAD.pdf").read_bytes()[:1024])
    assert looks_like_pdf(b"\xef\xbb\xbf junk %PDF-1.4 ...")
    assert not looks_like_pdf(b"\x89PNG\r\n\x1a\n....")
    assert not looks_like_pdf(b"hello, this is text")


def test_on_page_reports_each_page_in_order() -> None:
    seen: list[tuple[int, int]] = []
    extract_pdf(PDFS / "deb-asymptote-doc__CAD.pdf", on_page=lambda d, t: seen.append((d, t)))
    assert seen == [(n, 7) for n in range(1, 8)]


def test_on_page_may_stop_the_extraction() -> None:
    class Stop(Exception):
        pass

    def stop(done: int, _total: int) -> None:
        if done == 2:
            raise Stop

    with pytest.raises(Stop):
        extract_pdf(PDFS / "deb-asymptote-doc__CAD.pdf", on_page=stop)
