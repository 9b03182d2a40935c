"""Caps on what reading one PDF may cost: pages, characters, render size, time, memory.

A PDF is a program: a 2 KB file whose pages share one compressed content stream can draw
millions of characters, and a page can claim to be five metres wide. Whatever passes a
cap here is ordinary course material; what does not fails its own job with a message
saying which cap it hit (a `PdfLimitError`, never retried).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ultudy.errors import PdfLimitError

SPLIT_HINT = "split it into smaller files"


@dataclass(frozen=True, kw_only=True)
class PdfLimits:
    """The defaults are the settings' defaults (ULTUDY_PDF_*): far above any course
    material (the test PDFs reach 41 pages and about 10 k characters a page)."""

    max_pages: int = 2000
    max_chars_per_page: int = 100_000
    max_chars: int = 5_000_000
    max_render_pixels: int = 4096 * 4096
    time_limit_s: float = 120.0
    memory_limit_mb: int = 1024

    def check_pages(self, count: int) -> None:
        if count > self.max_pages:
            raise PdfLimitError(
                f"The PDF has more than {self.max_pages} pages ({count}); {SPLIT_HINT}."
            )

    def check_page_chars(self, page: int, count: int) -> None:
        """`page` is 1-based."""
        if count > self.max_chars_per_page:
            raise PdfLimitError(
                f"Page {page} of the PDF has more than {self.max_chars_per_page} characters"
                " of text; it is not ordinary course material and cannot be read."
            )

    def check_chars(self, total: int) -> None:
        if total > self.max_chars:
            raise PdfLimitError(
                f"The PDF has more than {self.max_chars} characters of text; {SPLIT_HINT}."
            )

    def render_scale(self, width_pt: float, height_pt: float, scale: float) -> float:
        """`scale`, or less so that the rendered page has at most `max_render_pixels`."""
        pixels = width_pt * scale * height_pt * scale
        if pixels <= self.max_render_pixels:
            return scale
        return math.sqrt(self.max_render_pixels / max(width_pt * height_pt, 1.0))

    def time_error(self) -> PdfLimitError:
        return PdfLimitError(
            f"Reading the PDF took longer than {self.time_limit_s:g} s; it is too large or"
            f" too complex to read here ({SPLIT_HINT})."
        )

    def memory_error(self) -> PdfLimitError:
        return PdfLimitError(
            f"The PDF needs more memory than allowed to read ({self.memory_limit_mb} MB);"
            " it is too large or too complex, or damaged in a way that stops the reader."
        )


DEFAULT_LIMITS = PdfLimits()
