"""A text line's fonts, read from pdfium character by character."""

from __future__ import annotations

import ctypes
import itertools
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pypdfium2.raw as pdfium_c

from ultudy.study.pdf.lines import MAX_HEADING_WORDS, SAME_SIZE
from ultudy.study.pdf.model import Line

BOLD_WEIGHT = 500  # TeX's bold fonts report 540-585, regular ones 265-415
BOLD_SHARE = 0.8  # share of a line's characters that must be bold for the line to be bold
CELL_GAP_EM = 1.5  # a gap this wide (in font sizes) separates table cells, not words
SAMPLED_CHARS = 12  # characters whose fonts are read on a line too long to be a heading
SECTION_NUMBER_RE = re.compile(r"[\dA-Z]{1,2}(?:\.\d{1,2})*\.?")
MONO_FONT_RE = re.compile(r"mono|courier|consol|cmtt|cmsltt|menlo|inconsolata", re.IGNORECASE)
BOLD_FONT_RE = re.compile(r"bold|black|heavy|semibold|demi|cmbx|cmb\d", re.IGNORECASE)


@dataclass(kw_only=True)
class _Run:
    """Characters of one font size in a row, from `first` to `last` (indices)."""

    size: float
    font: str
    first: int
    last: int


def _run_length(run: _Run) -> int:
    return run.last - run.first


class FontReader:
    """A text line's fonts, character by character. Lines too long to be headings are
    only sampled: their fonts count towards the body size, and pdfium calls are slow."""

    def __init__(self, raw: Any, page: int) -> None:
        self._raw = raw
        self._page = page
        self._box = [ctypes.c_double() for _ in range(4)]  # left, right, bottom, top
        self._font = ctypes.create_string_buffer(128)
        self._flags = ctypes.c_int()

    def line(self, text: str, start: int, end: int, index: int, *, whole: bool) -> Line | None:
        visible = [i for i in range(start, end) if not text[i].isspace()]
        if not visible:
            return None
        sample = not whole and len(text[start:end].split()) > MAX_HEADING_WORDS
        if sample:
            visible = visible[:: max(1, len(visible) // SAMPLED_CHARS)]
        sizes, bold, runs = self._fonts(visible)
        cells = 1 if sample else 1 + self._cells(text, start, visible)
        top = max(runs, key=lambda run: run.size)
        return Line(
            page=self._page,
            index=index,
            text=text[start:end].strip(),
            size=Counter(sizes).most_common(1)[0][0],
            bold=bold >= BOLD_SHARE * len(sizes),
            mono=bool(MONO_FONT_RE.search(max(runs, key=_run_length).font)),
            chars=end - start if sample else len(sizes),
            cells=cells,
            y=self._char_box(visible[0])[2],
            top_size=top.size,
            top_text=text[top.first : top.last + 1].strip(),
        )

    def _fonts(self, visible: list[int]) -> tuple[list[float], int, list[_Run]]:
        """Sizes, how many are bold, and runs of one size."""
        raw, bold = self._raw, 0
        sizes: list[float] = []
        runs: list[_Run] = []
        for i in visible:
            size = round(pdfium_c.FPDFText_GetFontSize(raw, i), 1)
            weight = pdfium_c.FPDFText_GetFontWeight(raw, i)
            if not runs or abs(runs[-1].size - size) > SAME_SIZE:
                runs.append(_Run(size=size, font=self._font_name(i), first=i, last=i))
            runs[-1].last = i
            # Standard fonts that are not embedded report no weight; their names tell.
            bold += weight >= BOLD_WEIGHT or (
                weight <= 0 and bool(BOLD_FONT_RE.search(runs[-1].font))
            )
            sizes.append(size)
        return sizes, bold, runs

    def _cells(self, text: str, start: int, visible: list[int]) -> int:
        """Wide gaps between the line's words."""
        spaced = [(a, b) for a, b in itertools.pairwise(visible) if b > a + 1]
        return sum(self._wide_gap(text, start, a, b) for a, b in spaced)

    def _wide_gap(self, text: str, start: int, before: int, after: int) -> bool:
        gap = self._char_box(after)[0] - self._char_box(before)[1]
        size = pdfium_c.FPDFText_GetFontSize(self._raw, after)
        if gap <= CELL_GAP_EM * size:
            return False
        # A section number set apart from its title ("1.2<tab>Title") is not a cell.
        return not SECTION_NUMBER_RE.fullmatch(text[start : before + 1].strip())

    def _char_box(self, index: int) -> tuple[float, float, float, float]:
        left, right, bottom, top = self._box
        pdfium_c.FPDFText_GetCharBox(self._raw, index, left, right, bottom, top)
        return left.value, right.value, bottom.value, top.value

    def _font_name(self, index: int) -> str:
        size = pdfium_c.FPDFText_GetFontInfo(self._raw, index, self._font, 128, self._flags)
        return self._font.value.decode("latin-1") if 0 < size <= 128 else ""
