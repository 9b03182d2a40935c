"""PDF text extraction speed on the real test PDFs: pypdfium2 (ours) against pypdf, and
our full extraction (text + heading detection), median of runs, one process."""

from __future__ import annotations

import importlib.util
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import pypdfium2 as pdfium

from bench.common import table, write_result
from ultudy.errors import PdfError
from ultudy.study.pdf import extract_pdf

PDFS = sorted((Path(__file__).resolve().parents[1] / "tests" / "data" / "pdfs").glob("*.pdf"))
RUNS = 5


def pdfium_text(path: Path) -> int:
    pdf = pdfium.PdfDocument(str(path))
    try:
        for page in pdf:
            page.get_textpage().get_text_range()
        return len(pdf)
    finally:
        pdf.close()


def pypdf_text(path: Path) -> int:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    for page in reader.pages:
        page.extract_text()
    return len(reader.pages)


def ours(path: Path) -> int:
    return extract_pdf(path).page_count


def measure(read: Callable[[Path], int]) -> tuple[int, int, float]:
    readable, pages, seconds = 0, 0, []
    for path in PDFS:
        try:
            pages += read(path)
            readable += 1
        except Exception:
            continue
    for _ in range(RUNS):
        start = time.perf_counter()
        for path in PDFS:
            try:
                read(path)
            except (PdfError, Exception):
                continue
        seconds.append(time.perf_counter() - start)
    return readable, pages, statistics.median(seconds)


def main() -> None:
    candidates: list[tuple[str, Callable[[Path], int]]] = [
        ("pypdfium2 (text only)", pdfium_text),
        ("ultudy extract_pdf (text + sections)", ours),
    ]
    if importlib.util.find_spec("pypdf"):
        candidates.append(("pypdf (text only)", pypdf_text))
    rows, base = [], None
    for name, read in candidates:
        readable, pages, seconds = measure(read)
        rate = pages / seconds
        base = base or rate
        rows.append([name, f"{readable}/{len(PDFS)}", pages, f"{rate:.0f}", f"{rate / base:.2f}"])
    missing = "" if importlib.util.find_spec("pypdf") else " (pypdf not installed: not measured)"
    text = "\n".join([
        f"### PDF extraction, {len(PDFS)} test PDFs, median of {RUNS} runs{missing}",
        "",
        table(["library", "files read", "pages", "median pages/s", "vs pypdfium2"], rows),
    ])  # fmt: skip
    write_result("pdf_extraction", text)


if __name__ == "__main__":
    main()
