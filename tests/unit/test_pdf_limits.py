"""Reading PDFs in child processes under caps (`pdf.isolated`, `pdf.limits`): the test
PDFs read as they do in-process, and hostile files fail quickly with a message saying
which cap they hit, leaving no child process behind."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image

from tests.support.hostile_pdfs import flate_bomb, huge_page, pdf_readers, shared_stream
from ultudy.errors import PdfError, PdfLimitError
from ultudy.study.pdf import (
    RENDER_SCALE,
    ExtractedDocument,
    IsolatedPdfReader,
    PdfLimits,
    extract_pdf,
    render_page_png,
)

PDFS = Path(__file__).resolve().parents[1] / "data" / "pdfs"
SCAN = PDFS / "pypi-pikepdf__francais.pdf"
UNLIMITED_CHARS = PdfLimits(max_chars=10**9)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def outcome(read: object) -> ExtractedDocument | tuple[type[Exception], str]:
    try:
        return read()  # type: ignore[operator,no-any-return]
    except PdfError as exc:
        return type(exc), exc.message


# Not the encrypted one in this process: pdfium's last error is process-wide, and its
# "password" code would be left over for the next test's failed open (a child's is fresh).
IN_PROCESS = [path for path in sorted(PDFS.glob("*.pdf")) if "encrypted" not in path.name]


@pytest.mark.parametrize("path", IN_PROCESS, ids=lambda p: p.stem)
def test_the_child_reads_each_test_pdf_as_this_process_does(path: Path) -> None:
    pages: list[tuple[int, int]] = []
    isolated = IsolatedPdfReader(path, PdfLimits())
    child = outcome(lambda: isolated.extract(on_page=lambda *page: pages.append(page)))
    assert child == outcome(lambda: extract_pdf(path))
    if isinstance(child, ExtractedDocument):
        assert pages == [(n, child.page_count) for n in range(1, child.page_count + 1)]


def test_more_pages_than_the_cap_fail_before_any_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, "many.pdf", shared_stream(2001, lines=1))
    assert path.stat().st_size < 300 * 1024
    pages: list[tuple[int, int]] = []
    with pytest.raises(PdfLimitError, match=r"more than 2000 pages \(2001\)"):
        IsolatedPdfReader(path, PdfLimits()).extract(on_page=lambda *page: pages.append(page))
    assert pages == []


def test_a_page_with_more_characters_than_the_cap_fails(tmp_path: Path) -> None:
    path = write(tmp_path, "dense.pdf", shared_stream(3, lines=1100))  # 110 k per page
    with pytest.raises(PdfLimitError, match="Page 1 of the PDF has more than 100000 characters"):
        IsolatedPdfReader(path, PdfLimits()).extract()


def test_more_characters_in_all_than_the_cap_fail_on_the_page_that_passes_it(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "long.pdf", shared_stream(60))  # 40 k characters per page
    pages: list[tuple[int, int]] = []
    with pytest.raises(PdfLimitError, match="more than 100000 characters of text"):
        IsolatedPdfReader(path, PdfLimits(max_chars=100_000)).extract(
            on_page=lambda *page: pages.append(page)
        )
    assert pages == [(1, 60), (2, 60)]  # the third page passes the cap


def test_a_reading_past_the_time_limit_is_killed(tmp_path: Path) -> None:
    # 2000 pages of 40 k characters: minutes of CPU, were it not stopped.
    path = write(tmp_path, "slow.pdf", shared_stream(2000))
    limits = PdfLimits(max_chars=10**9, time_limit_s=1.5)
    started = time.monotonic()
    with pytest.raises(PdfLimitError, match=r"Reading the PDF took longer than 1.5 s"):
        IsolatedPdfReader(path, limits).extract()
    assert time.monotonic() - started < 1.5 + 2
    assert pdf_readers(os.getpid()) == []


def test_the_time_limit_is_one_budget_for_all_of_a_readers_calls(tmp_path: Path) -> None:
    reader = IsolatedPdfReader(
        write(tmp_path, "slow.pdf", shared_stream(2000)),
        PdfLimits(max_chars=10**9, time_limit_s=1.0),
    )
    with pytest.raises(PdfLimitError, match="took longer than 1 s"):
        reader.extract()
    started = time.monotonic()
    with pytest.raises(PdfLimitError, match="took longer than 1 s"):
        reader.render_png(1)
    assert time.monotonic() - started < 0.1  # no child was started


def test_a_pdf_that_needs_more_memory_than_allowed_fails_clearly(tmp_path: Path) -> None:
    path = write(tmp_path, "bomb.pdf", flate_bomb(400))  # 400 MB of content, 5 KB on disk
    with pytest.raises(PdfLimitError, match=r"needs more memory than allowed to read \(200 MB\)"):
        IsolatedPdfReader(path, PdfLimits(memory_limit_mb=200)).extract()
    assert pdf_readers(os.getpid()) == []


def test_a_check_that_raises_stops_the_reading_at_once(tmp_path: Path) -> None:
    class Stop(Exception):
        pass

    def stop() -> None:
        raise Stop

    path = write(tmp_path, "slow.pdf", shared_stream(2000))
    started = time.monotonic()
    with pytest.raises(Stop):
        IsolatedPdfReader(path, UNLIMITED_CHARS).extract(check=stop)
    assert time.monotonic() - started < 2
    assert pdf_readers(os.getpid()) == []


def test_errors_of_the_file_pass_through_the_child(tmp_path: Path) -> None:
    encrypted = PDFS / "pypi-pypdf__crazyones-encrypted-256.pdf"
    with pytest.raises(PdfError, match="password-protected"):
        IsolatedPdfReader(encrypted, PdfLimits()).extract()
    with pytest.raises(FileNotFoundError):
        IsolatedPdfReader(tmp_path / "gone.pdf", PdfLimits()).extract()


def png_size(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as image:
        return image.size


def test_a_huge_page_is_rendered_scaled_down_to_the_pixel_cap(tmp_path: Path) -> None:
    path = write(tmp_path, "huge.pdf", huge_page(14_400))  # 5 m wide: 28 800 px at 144 dpi
    width, height = png_size(IsolatedPdfReader(path, PdfLimits()).render_png(1))
    assert width * height <= 4096 * 4096
    assert (width, height) >= (4090, 4090)
    small = IsolatedPdfReader(path, PdfLimits(max_render_pixels=1000 * 1000)).render_png(1)
    assert (990, 990) <= png_size(small) <= (1000, 1000)


def test_an_ordinary_page_is_rendered_at_full_scale() -> None:
    png = IsolatedPdfReader(SCAN, PdfLimits()).render_png(1)
    assert png == render_page_png(SCAN, 1)
    width_pt = pdfium.PdfDocument(SCAN)[0].get_width()
    assert png_size(png)[0] == round(width_pt * RENDER_SCALE)


def test_render_scale_fits_the_cap_and_never_enlarges() -> None:
    limits = PdfLimits(max_render_pixels=1_000_000)
    assert limits.render_scale(400, 400, 2.0) == 2.0
    assert limits.render_scale(1000, 1000, 2.0) == pytest.approx(1.0)
    assert limits.render_scale(14_400, 14_400, 2.0) == pytest.approx(1000 / 14_400)


def test_extract_pdf_in_this_process_applies_the_caps_too(tmp_path: Path) -> None:
    path = write(tmp_path, "many.pdf", shared_stream(11, lines=1))
    with pytest.raises(PdfLimitError, match=r"more than 10 pages \(11\)"):
        extract_pdf(path, limits=PdfLimits(max_pages=10))
