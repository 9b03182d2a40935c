"""Paragraphs and sentences of cleaned text, and whether a sentence is prose.

`split_sentences` cuts prose into sentences without breaking at abbreviations ("e.g.",
"i.e.", "Fig.") or decimals.
"""

from __future__ import annotations

import re

from ultudy.study.text.clean import normalize
from ultudy.study.text.words import ABBREVIATIONS, STOPWORDS, WORD_RE

LIST_ITEM_RE = re.compile(r"^\s*(?:\d{1,2}[.)]|[a-z][.)]|[-•–*·])\s+")
"""A list item's label: "1.", "b)", "-", "•"."""
_BOUNDARY_RE = re.compile(r"[.!?]+[\"'”’)\]]*\s+")
_SENTENCE_START_RE = re.compile(r"[\"'“‘(\[]?[A-Z0-9]")


def _wrap_width(lines: list[str]) -> int:
    lengths = sorted(len(line) for line in lines if len(line) >= 20)
    if not lengths:
        return 0
    return lengths[int(0.9 * (len(lengths) - 1))]


def _ends_paragraph(line: str, next_line: str, width: int) -> bool:
    if not line or not next_line or LIST_ITEM_RE.match(next_line):
        return True
    return width == 0 or len(line) < 0.7 * width


def paragraphs(text: str) -> list[str]:
    """Rebuild paragraphs from normalized text: wrapped lines are joined with a space.

    A blank line, a line much shorter than the text's wrap width (a paragraph end, a
    heading, a line of code) or a following list item ends a paragraph.
    """
    lines = [line.strip() for line in text.split("\n")]
    width = _wrap_width(lines)
    result: list[str] = []
    current: list[str] = []
    for index, line in enumerate(lines):
        if line:
            current.append(line)
        next_line = lines[index + 1] if index + 1 < len(lines) else ""
        if current and _ends_paragraph(line, next_line, width):
            result.append(" ".join(current))
            current = []
    return result


def _is_initial(word: str, next_word: str) -> bool:
    """ "J. Smith" or "U.S. Army", but not "in R. They"."""
    if not re.fullmatch(r"(?:[A-Za-z]\.)*[A-Z]", word):
        return False
    return next_word.lower() not in STOPWORDS


def _is_boundary(before: str, after: str) -> bool:
    """Whether a "." / "!" / "?" (the last such character of `before`) ends a sentence."""
    word = re.split(r"[\s(\[\"'“‘]", before[-40:].rstrip(".!?"))[-1]
    next_word = WORD_RE.match(after)
    following = next_word.group(0) if next_word else ""
    if not before.endswith("."):
        return bool(_SENTENCE_START_RE.match(after))
    if len(before) < 8 and re.fullmatch(r"\d{1,2}|[a-z]", before.strip().rstrip(".")):
        return False  # A list label: "1. Encoding".
    if word.lower() == "etc":
        return after[:1].isupper()
    if word.lower() in ABBREVIATIONS or _is_initial(word, following):
        return False
    if _SENTENCE_START_RE.match(after):
        return True
    # "... cannot be closed. stdout and stderr are ...": code names start sentences too.
    return bool(re.fullmatch(r"[a-z]{3,}", word)) and bool(re.match(r"[a-z]", after))


def split_paragraph(block: str) -> list[str]:
    """Split one paragraph (already joined into one line) into sentences."""
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY_RE.finditer(block):
        end = match.end()
        punctuation_end = match.start() + len(match.group(0).rstrip().rstrip("\"'”’)]"))
        if not _is_boundary(block[start:punctuation_end], block[end:]):
            continue
        sentences.append(block[start:end].strip())
        start = end
    tail = block[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def split_sentences(text: str) -> list[str]:
    """Split text into sentences.

    Paragraphs (see `paragraphs`) never share a sentence. Inside one, a sentence ends at
    ".", "!" or "?" (plus closing quotes/brackets) followed by space and a capital letter,
    digit or opening quote, unless the period belongs to an abbreviation ("e.g.", "Fig.",
    "Dr.") or an initial. Decimals ("3.14") and dotted names ("read.table") never split.
    """
    sentences: list[str] = []
    for block in paragraphs(normalize(text)):
        sentences.extend(split_paragraph(block))
    return sentences


def is_prose(sentence: str) -> bool:
    """A full sentence of prose: not a heading, a list item, code, an index line or the
    lower-case tail of a sentence cut in two."""
    words = sentence.split()
    if not 5 <= len(words) <= 80 or LIST_ITEM_RE.match(sentence):
        return False
    if words[0] in STOPWORDS:  # "and SQL99 is ...": the tail of a sentence cut by a page break
        return False
    if not re.search(r"[.!?][\"'”’)\]]*$", sentence):
        return False
    visible = [char for char in sentence if not char.isspace()]
    letters = sum(char.isalpha() for char in visible)
    code = sum(char in '=(){}[]<>;$\\|#@`"~^' for char in visible)
    return letters >= 0.7 * len(visible) and code <= max(2, len(visible) // 25)
