"""The word lexicon the study engines share: stopwords, tokens, stems, ligatures.

Lessons, grading and PDF reading all take their word knowledge from here, so a change to
a list or a stemmer reaches every engine at once. Where the grader needs words that the
lesson engine ignores (see `GRADER_STOPWORDS`), the difference is spelled out as a named
set rather than kept as a second list.
"""

from __future__ import annotations

import hashlib
import re

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

MEANING_WORDS: frozenset[str] = frozenset(
    """
    against before below beside besides between beyond despite down over off under unless
    otherwise another anyone others enough few least less many well use used uses using
    """.split()
)
"""Stopwords that can carry an answer's meaning: relations ("before" for "after", "under"
for "over"), quantities ("less", "few", "another") and "use". The grader compares them
as content words."""

FILLER_WORDS: frozenset[str] = frozenset(
    """
    actually always basically eg example get gets got ie kind made really said say says
    simply something thing things
    """.split()
)
"""Fillers a learner's answer adds without saying more: the grader ignores them."""

GRADER_STOPWORDS: frozenset[str] = (STOPWORDS - MEANING_WORDS) | FILLER_WORDS
"""The words the grader does not compare (never stemmed). Negations are stopwords here
too, but the grader reads every negation as "not" before it looks at this list."""

ABBREVIATIONS: frozenset[str] = frozenset(
    """
    e.g i.e cf vs viz al approx resp fig figs eq eqs eqn sec secs ch chap no nos vol vols
    pp p ed eds dr mr mrs ms prof st jr sr inc ltd co dept univ ca incl esp min max
    """.split()
)
"""Words that, followed by a period, do not end a sentence."""

DIVISION_WORDS: tuple[str, ...] = (
    "chapter",
    "section",
    "part",
    "appendix",
    "lecture",
    "unit",
    "module",
    "week",
)
"""Words that name a numbered division of a document ("Chapter 7", "Week 3"): they open
numbered headings and running headers."""

LIGATURES: dict[str, str] = {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st"}
"""Typographic ligatures PDFs leave in their text, and the letters they stand for."""

WORD_RE = re.compile(r"[^\W_]+(?:['’.\-_][^\W_]+)*")
"""A word: letters and digits, with inner ' . - _ ("read.table", "don't", "utf-8")."""

_PLAIN_WORD_RE = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens. Keeps "read.table", "don't", "utf-8" and "3.14" whole."""
    return WORD_RE.findall(text.lower())


def content_tokens(text: str) -> list[str]:
    """`tokenize` without stopwords and one-character tokens."""
    return [token for token in tokenize(text) if token not in STOPWORDS and len(token) > 1]


def plain_words(text: str) -> list[str]:
    """Lower-cased ASCII words split at hyphens ("non-linear" is "non", "linear"), for
    the grader, which reads a negating prefix as a word of its own."""
    return _PLAIN_WORD_RE.findall(text.lower().replace("’", "'"))


def text_hash(*parts: str) -> int:
    """A stable 64-bit hash of some text (unlike `hash`, the same in every process)."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


def singular(token: str) -> str:
    """A crude singular: "connections" → "connection", "libraries" → "library".

    Still a word, so the lesson engine can build "library|libraries" patterns from it;
    `stem` goes further where only equality matters (grading)."""
    if not token.isalpha() or len(token) <= 3:
        return token
    if token.endswith("ies") and len(token) > 4:
        return token[:-3] + "y"
    if token.endswith(("sses", "xes", "ches", "shes")):
        return token[:-2]
    if token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


_SUFFIXES = (
    "ments",
    "ment",
    "ness",
    "ingly",
    "ings",
    "ing",
    "ions",
    "ion",
    "edly",
    "ies",
    "ied",
    "ed",
    "es",
    "ly",
    "s",
    "e",
)


def stem(word: str) -> str:
    """`singular`, then light suffix stripping: "increases", "increased", "increasing" ->
    "increas"; "key" and "keys" -> "key". Not a word, only a key for comparing words."""
    word = singular(word.removesuffix("'s"))
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word[-2] in "siu":  # "class", "virus", "analysis"
                continue
            word = word[: -len(suffix)]
            break
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
        word = word[:-1]  # "stopp(ing)" -> "stop"
    return word[:-1] + "i" if word.endswith("y") else word


def folded(text: str) -> str:
    """Case-folded, with runs of whitespace as one space: for comparing short answers."""
    return " ".join(text.split()).casefold()
