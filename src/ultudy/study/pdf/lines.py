"""The text of layout lines: cleaning, keys for matching titles, numbering."""

from __future__ import annotations

import re

from ultudy.study.text import DIVISION_WORDS
from ultudy.study.text import LIGATURES as LIGATURE_LETTERS

SAME_SIZE = 0.3  # points: sizes closer than this are the same size
MAX_HEADING_WORDS = 12
MAX_TITLE_CHARS = 300
_PREFIX = "|".join(DIVISION_WORDS)
_NUM = r"\d{1,2}(?:\.\d{1,2}){0,4}|[A-Z](?:\.\d{1,2}){1,4}|[IVX]{1,5}(?=\.)"
NUMBERED_RE = re.compile(
    rf"^(?:(?:{_PREFIX})\s+(?P<pnum>[A-Z]|{_NUM})|(?P<num>{_NUM}))\.?(?::\s*|\s+)"
    r"(?P<title>[^\W\d_].*)$",
    re.IGNORECASE,
)


CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
LIGATURES = str.maketrans(LIGATURE_LETTERS)


def clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # pdfium marks a word hyphenated at a line end; the word is whole again without it.
    text = re.sub(r"[\x02\ufffe\u00ad]\n?", "", text)
    # A hyphen pdfium kept is a real one ("3-\ndimensional"): keep it, join the lines.
    text = re.sub(r"(?<=\w-)\n(?=\w)", "", text)
    text = CONTROL_RE.sub("", text).translate(LIGATURES)
    text = re.sub(r"[^\S\n]+", " ", text)
    text = re.sub(r" ?\n ?", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def tidy(text: str) -> str:
    return re.sub(r"\s+", " ", clean(text)).strip()


def title_key(text: str) -> str:
    """Letters only, without a chapter/appendix word: to match a heading to its title."""
    text = re.sub(rf"^\s*(?:{_PREFIX})\b", "", tidy(text).lower())
    return re.sub(r"[\W\d_]+", "", text)


def line_shape(text: str) -> str:
    """The text with numbers blanked out: running headers differ only in page numbers."""
    return re.sub(r"\d+", "#", re.sub(r"\s+", " ", tidy(text).lower()))


def letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def numbering_depth(text: str) -> int:
    match = NUMBERED_RE.match(text)
    if not match:
        return 0
    number = (match.group("num") or match.group("pnum")).rstrip(".")
    return number.count(".") + 1
