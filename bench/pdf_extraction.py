"""PDF text extraction speed on the real test PDFs (tests/data/pdfs): pypdfium2's plain text
(what ultudy builds on), pypdf's (when installed), and ultudy's whole `extract_pdf` (text,
outline or font-based headings, sections), median of runs, in one process; then the same
through `IsolatedPdfReader` (what the app runs: a child process per file, under limits),
whose extra cost per file is the child's start.

Run: .venv/bin/python bench/pdf_extraction.py  (or python -m bench.pdf_extraction)
"""

from __future__ import annotations

import importlib.util
import logging
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import pypdfium2 as pdfium

from ultudy.study.pdf import IsolatedPdfReader, PdfLimits
from ultudy.study.pdf import reader as ultudy_pdf

ROOT = Path(__file__).resolve().parents[1]
PDFS = sorted((ROOT / "tests" / "data" / "pdfs").glob("*.pdf"))
RESULTS = ROOT / "bench" / "results"
RUNS = 5

Reader = Callable[[Path], int]  # reads a file's text, returns its page count


def pypdfium2_text(path: Path) -> int:
    pdf = pdfium.PdfDocument(str(path))
    try:
        for number in range(len(pdf)):
            page = pdf[number]
            textpage = page.get_textpage()
            textpage.get_text_range()
            textpage.close()
            page.close()
        return len(pdf)
    finally:
        pdf.close()


def pypdf_text(path: Path) -> int:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    for page in reader.pages:
        page.extract_text()
    return len(reader.pages)


def ultudy_extract(path: Path) -> int:
    return ultudy_pdf.extract_pdf(path).page_count


def ultudy_fonts_everywhere(path: Path) -> int:
    """As if no file had an outline: headings from fonts on every page (the slow path)."""
    outline = ultudy_pdf._outline
    ultudy_pdf._outline = lambda _pdf, _count: []  # type: ignore[assignment]
    try:
        return ultudy_pdf.extract_pdf(path).page_count
    finally:
        ultudy_pdf._outline = outline


def ultudy_isolated(path: Path) -> int:
    return IsolatedPdfReader(path, PdfLimits()).extract().page_count


def readable(read: Reader) -> dict[Path, int]:
    """The files this reader gets through, with their page counts."""
    pages = {}
    for path in PDFS:
        try:
            pages[path] = read(path)
        except Exception:  # each library fails on the damaged files in its own way
            continue
    return pages


def median_seconds(read: Reader, paths: list[Path]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        for path in paths:
            read(path)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def main() -> None:
    logging.disable(logging.WARNING)  # damaged files make every library log
    warnings.simplefilter("ignore")
    readers: list[tuple[str, Reader]] = [("pypdfium2 text only", pypdfium2_text)]
    notes = []
    if importlib.util.find_spec("pypdf"):
        readers.append(("pypdf text only", pypdf_text))
    else:
        notes.append("pypdf is not installed: not measured (`.venv/bin/pip install pypdf`).")
    readers += [
        ("ultudy extract_pdf (text + sections)", ultudy_extract),
        ("ultudy extract_pdf, fonts on every page", ultudy_fonts_everywhere),
        ("ultudy in a child process (IsolatedPdfReader)", ultudy_isolated),
    ]
    rows, base = [], 0.0
    for name, read in readers:
        pages = readable(read)
        seconds = median_seconds(read, list(pages))
        rate = sum(pages.values()) / seconds
        base = base or rate
        per_file_ms = 1000 * seconds / len(pages)
        rows.append(
            [
                name,
                f"{len(pages)}/{len(PDFS)}",
                str(sum(pages.values())),
                f"{rate:.0f}",
                f"{rate / base:.2f}",
                f"{per_file_ms:.0f}",
            ]
        )
    text = "\n".join(
        [
            f"### PDF text extraction, {len(PDFS)} test PDFs, median of {RUNS} runs",
            "",
            table(
                ["library", "files read", "pages", "median pages/s", "ratio", "ms per file"], rows
            ),
            "",
            "Ratio: against pypdfium2 text only. Each reader is timed on the files it can read.",
            "The fonts row ignores outlines, so every page's characters are read for headings.",
            "The child-process row is the app's path; its extra time per file is the child's",
            "start (a fresh interpreter importing pypdfium2).",
            *notes,
        ]
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "pdf_extraction.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
