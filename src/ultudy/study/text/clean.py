"""Cleaning text that comes from PDFs: ligatures, hyphenation, running headers, spaces.

Section text arrives with hard line wraps, hyphenated line breaks, running headers
("Chapter 7: Connections 27") and bare page numbers. `normalize` undoes those (see
`sentences.paragraphs` for rebuilding the paragraphs).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from ultudy.study.text.words import DIVISION_WORDS, LIGATURES, tokenize

_SOFT_HYPHENS_RE = re.compile(r"(\w?)[\ufffe\u00ad]\s*(\w?)")
_HYPHEN_BREAK_RE = re.compile(r"([^\W\d_]+)-\n\s*([^\W\d_]+)")
_URL_PAREN_RE = re.compile(r"\s*\(\s*(?:see\s+)?(?:https?|ftp)://[^()]*\)")
_PAGE_NUMBER_RE = re.compile(r"^\s*(?:page\s+)?\d{1,4}(?:\s+of\s+\d{1,4})?\s*$", re.IGNORECASE)
_RUNNING_HEADER_RE = re.compile(
    rf"^\s*(?:\d{{1,4}}\s+)?(?:{'|'.join(DIVISION_WORDS)})\s+[\dA-Z]{{1,4}}\b"
    r"[:.]?[^\n]{0,80}?\s\d{1,4}\s*$",
    re.IGNORECASE,
)
_SPACES_RE = re.compile(r"[ \t\f\v\u00a0]+")


def is_running_header(line: str) -> bool:
    """A page number or a "Chapter 7: Connections 27"-style running header line."""
    return bool(_PAGE_NUMBER_RE.match(line) or _RUNNING_HEADER_RE.match(line))


def _header_key(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.split())).lower()


def _repeated_numbered_lines(lines: list[str]) -> set[str]:
    """Short lines that repeat with only their numbers changed: headers and footers."""
    numbered = [
        line
        for line in lines
        if len(line) <= 80 and re.search(r"(?:^\s*\d{1,4}\s)|(?:\s\d{1,4}\s*$)", line)
    ]
    counts = Counter(_header_key(line) for line in numbered)
    return {key for key, count in counts.items() if count >= 2}


def drop_running_headers(text: str) -> str:
    """Remove page numbers and running headers/footers, one per line."""
    lines = text.split("\n")
    repeated = _repeated_numbered_lines(lines)
    kept = [
        line for line in lines if not (is_running_header(line) or _header_key(line) in repeated)
    ]
    return "\n".join(kept)


def _soft_hyphen(match: re.Match[str]) -> str:
    """pdfium's line-end hyphen mark: "manip|ulated" joins, but "DBMS|specific" keeps a dash."""
    return "-" if match.group(1)[-1:].isupper() and match.group(2)[:1].islower() else ""


def _dehyphenate(text: str) -> str:
    text = _SOFT_HYPHENS_RE.sub(lambda m: m.group(1) + _soft_hyphen(m) + m.group(2), text)
    words = set(tokenize(text))

    def join(match: re.Match[str]) -> str:
        head, tail = match.group(1), match.group(2)
        joined = head + tail
        return joined if joined.lower() in words else f"{head}-{tail}"

    return _HYPHEN_BREAK_RE.sub(join, text)


def normalize(text: str) -> str:
    """Clean PDF text: unicode, ligatures, hyphenation, headers, URL asides, spaces.

    Line breaks are kept (they separate paragraphs, headings and code); use `paragraphs`
    to join wrapped lines.
    """
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    for ligature, letters in LIGATURES.items():
        text = text.replace(ligature, letters)
    text = drop_running_headers(_dehyphenate(text))
    text = _URL_PAREN_RE.sub("", text)
    lines = (_SPACES_RE.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(lines).strip()
