"""Plain-text helpers shared by the study engines: cleaning, sentences, tokens, stopwords.

Section text comes from PDFs, so it arrives with hard line wraps, hyphenated line breaks,
running headers ("Chapter 7: Connections 27") and bare page numbers. `normalize` undoes
those; `paragraphs` rebuilds the paragraphs; `split_sentences` cuts prose into sentences
without breaking at abbreviations ("e.g.", "i.e.", "Fig.") or decimals.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter

STOPWORDS: frozenset[str] = frozenset(
    """
    a about above across after again against all almost along also although am among an and
    another any anyone anything are around as at be became because become becomes been
    before being below beside besides between beyond both but by can cannot could despite
    did do does doing done down during each either else enough etc even ever every few for
    from further had has have having he her here hers herself him himself his how however i
    if in including into is it its itself just least less like many may me might more most
    much must my myself neither no nor not now of off often on once one only onto or other
    others otherwise our ours ourselves out over own per
    perhaps quite rather same several shall she should since so some such than that the
    their theirs them themselves then there therefore these they this those though through
    thus to too toward towards under unless until up upon us use used uses using very via
    was we well were what whatever when whenever where whereas whether which while who
    whom whose why will with within without would yet you your yours yourself yourselves
    """.split()
)
"""A small English stopword list: function words and a few very common verbs."""

ABBREVIATIONS: frozenset[str] = frozenset(
    """
    e.g i.e cf vs viz al approx resp fig figs eq eqs eqn sec secs ch chap no nos vol vols
    pp p ed eds dr mr mrs ms prof st jr sr inc ltd co dept univ ca incl esp min max
    """.split()
)
"""Words that, followed by a period, do not end a sentence."""

_WORD_RE = re.compile(r"[^\W_]+(?:['’.\-_][^\W_]+)*")
_SOFT_HYPHENS_RE = re.compile(r"(\w?)[\ufffe\u00ad]\s*(\w?)")
_HYPHEN_BREAK_RE = re.compile(r"([^\W\d_]+)-\n\s*([^\W\d_]+)")
_URL_PAREN_RE = re.compile(r"\s*\(\s*(?:see\s+)?(?:https?|ftp)://[^()]*\)")
_PAGE_NUMBER_RE = re.compile(r"^\s*(?:page\s+)?\d{1,4}(?:\s+of\s+\d{1,4})?\s*$", re.IGNORECASE)
_RUNNING_HEADER_RE = re.compile(
    r"^\s*(?:\d{1,4}\s+)?(?:chapter|section|part|appendix|lecture|unit)\s+[\dA-Z]{1,4}\b"
    r"[:.]?[^\n]{0,80}?\s\d{1,4}\s*$",
    re.IGNORECASE,
)
_LIST_ITEM_RE = re.compile(r"^\s*(?:\d{1,2}[.)]|[a-z][.)]|[-•–*·])\s+")
_BOUNDARY_RE = re.compile(r"[.!?]+[\"'”’)\]]*\s+")
_SENTENCE_START_RE = re.compile(r"[\"'“‘(\[]?[A-Z0-9]")
_SPACES_RE = re.compile(r"[ \t\f\v\u00a0]+")
_LIGATURES = {"ﬁ": "fi", "ﬂ": "fl", "ﬀ": "ff", "ﬃ": "ffi", "ﬄ": "ffl"}


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens. Keeps "read.table", "don't", "utf-8" and "3.14" whole."""
    return _WORD_RE.findall(text.lower())


def content_tokens(text: str) -> list[str]:
    """`tokenize` without stopwords and one-character tokens."""
    return [token for token in tokenize(text) if token not in STOPWORDS and len(token) > 1]


def text_hash(*parts: str) -> int:
    """A stable 64-bit hash of some text (unlike `hash`, the same in every process)."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


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
    for ligature, letters in _LIGATURES.items():
        text = text.replace(ligature, letters)
    text = drop_running_headers(_dehyphenate(text))
    text = _URL_PAREN_RE.sub("", text)
    lines = (_SPACES_RE.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(lines).strip()


def _wrap_width(lines: list[str]) -> int:
    lengths = sorted(len(line) for line in lines if len(line) >= 20)
    if not lengths:
        return 0
    return lengths[int(0.9 * (len(lengths) - 1))]


def _ends_paragraph(line: str, next_line: str, width: int) -> bool:
    if not line or not next_line or _LIST_ITEM_RE.match(next_line):
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
    next_word = _WORD_RE.match(after)
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
    if not 5 <= len(words) <= 80 or _LIST_ITEM_RE.match(sentence):
        return False
    if words[0] in STOPWORDS:  # "and SQL99 is ...": the tail of a sentence cut by a page break
        return False
    if not re.search(r"[.!?][\"'”’)\]]*$", sentence):
        return False
    visible = [char for char in sentence if not char.isspace()]
    letters = sum(char.isalpha() for char in visible)
    code = sum(char in '=(){}[]<>;$\\|#@`"~^' for char in visible)
    return letters >= 0.7 * len(visible) and code <= max(2, len(visible) // 25)
