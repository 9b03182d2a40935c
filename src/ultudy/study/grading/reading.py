"""How the offline grader reads a text: words, stems, negations, numbers, hedges."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ultudy.study.text import GRADER_STOPWORDS, folded, plain_words
from ultudy.study.text import stem as word_stem

_NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")

_NEGATIONS: frozenset[str] = frozenset(
    "not no never cannot none nothing neither nor without nobody nowhere non instead "
    "rather fail fails failed failing".split()
)
"""Words that negate what follows ("rather than X", "instead of X", "fails to X")."""

_NEGATING_PREFIXES = ("non", "un", "in", "im", "il", "ir", "dis")

_NUMBER_WORDS = dict(
    zip(
        "two three four five six seven eight nine ten twelve hundred first second third "
        "fourth fifth".split(),
        "2 3 4 5 6 7 8 9 10 12 100 1 2 3 4 5".split(),
        strict=True,
    )
)
"""Number words ("one" is left out: it is mostly a pronoun)."""

_HEDGES_RE = re.compile(
    r"\b(?:i\s+)?(?:do\s*n[o']?t|can't|cannot)\s+(?:know|remember|recall)\b"
    r"|\b(?:idk|dunno|no\s+idea|no\s+clue|not\s+sure|i\s+forgot|forgot|sorry|i\s+think"
    r"|i\s+guess|maybe|perhaps|probably)\b"
)
"""Phrases that say nothing about the subject: "I don't know", "not sure", "I think"."""

_NON_ANSWERS = frozenset({"pass", "skip", "n/a", "na", "none", "nothing", "no", "no answer"})

_ANTONYMS_TEXT = """
    increase/decrease increase/reduce increase/lower rise/fall rise/drop raise/lower
    grow/shrink gain/lose high/low higher/lower more/less more/fewer large/small
    big/small larger/smaller bigger/smaller greater/smaller greater/less most/least
    maximum/minimum max/min before/after first/last early/late earlier/later start/end
    begin/end true/false input/output read/write import/export send/receive push/pull
    push/pop open/close left/right positive/negative above/below over/under
    inside/outside internal/external accept/reject include/exclude add/remove
    same/different similar/different identical/different strong/weak fast/slow
    long/short wide/narrow hot/cold produce/consume create/destroy encode/decode
    encrypt/decrypt compress/decompress upper/lower ascending/descending
    horizontal/vertical parent/child client/server local/global public/private
    static/dynamic explicit/implicit synchronous/asynchronous necessary/sufficient
    numerator/denominator dominant/recessive diploid/haploid prokaryotic/eukaryotic
    dna/rna aerobic/anaerobic acid/base oxidation/reduction anabolic/catabolic
    exothermic/endothermic overfit/underfit precision/recall sensitivity/specificity
    well/poorly good/bad better/worse best/worst buy/sell supply/demand debit/credit
    asset/liability upload/download enable/disable allow/deny allow/forbid
    success/failure pass/fail plus/minus add/subtract multiply/divide times/divided
    sum/difference mean/median
"""
"""Word pairs of opposite meaning: one in the answer for the other in the reference."""


def _number(word: str) -> str | None:
    """ "four" -> "4", "0.50" -> "0.5"; None for a word that is not a number."""
    if word in _NUMBER_WORDS:
        return _NUMBER_WORDS[word]
    if _NUMBER_RE.fullmatch(word):
        value = float(word)
        return str(int(value)) if value.is_integer() else repr(value)
    return None


def _token_stem(word: str) -> str:
    """A word's stem; every negation is "not", numbers are normalized."""
    if word in _NEGATIONS or word.endswith("n't"):
        return "not"
    if word in GRADER_STOPWORDS:
        return word
    return _number(word) or word_stem(word)


def is_content(stem: str) -> bool:
    return stem != "not" and stem not in GRADER_STOPWORDS


def _antonym_pairs() -> frozenset[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for item in _ANTONYMS_TEXT.split():
        first, second = (_token_stem(word) for word in item.split("/"))
        pairs.update({(first, second), (second, first)})
    return frozenset(pairs)


ANTONYMS = _antonym_pairs()


@dataclass(frozen=True, kw_only=True)
class Reading:
    """A text as the grader sees it."""

    words: tuple[str, ...]
    """The lower-cased words, in order."""
    stems: tuple[str, ...]
    """The stem of each word (negations are "not"; numbers normalized)."""
    surface: dict[str, str] = field(hash=False, compare=False)
    """Stem -> the first word that had it (for feedback)."""
    content: frozenset[str]
    """Content stems: not stopwords, not negations."""
    negated: frozenset[str]
    """Content stems in the scope of a negation ("not true", "unbiased" -> "bias")."""
    numbers: frozenset[str]
    """Numbers, in digits or words ("four", "third"), normalized ("4", "3")."""
    digits: frozenset[str]
    """The numbers written in digits."""


def _negated_scope(stems: Sequence[str]) -> set[str]:
    """The first content stem within three words after each negation."""
    scope = set()
    for index, stem in enumerate(stems):
        if stem == "not":
            following = [s for s in stems[index + 1 : index + 4] if is_content(s)]
            scope.update(following[:1])
    return scope


def _split_prefix(stem: str, vocabulary: frozenset[str]) -> str | None:
    """ "unbias" -> "bias" when "bias" is a word of either text (a negating prefix)."""
    for prefix in _NEGATING_PREFIXES:
        root = stem.removeprefix(prefix)
        if root != stem and len(root) >= 4 and root in vocabulary:
            return root
    return None


def read(text: str, vocabulary: frozenset[str] = frozenset()) -> Reading:
    words = [word for word in plain_words(text) if word not in ("a", "i")]
    stems = [_token_stem(word) for word in words]
    negated = _negated_scope(stems)
    for index, stem in enumerate(stems):
        root = _split_prefix(stem, vocabulary) if is_content(stem) else None
        if root is not None:
            stems[index] = root
            negated.add(root)
    surface: dict[str, str] = {}
    for word, stem in zip(words, stems, strict=True):
        surface.setdefault(stem, word)
    return Reading(
        words=tuple(words),
        stems=tuple(stems),
        surface=surface,
        content=frozenset(stem for stem in stems if is_content(stem)),
        negated=frozenset(negated),
        numbers=frozenset(n for word in words if (n := _number(word)) is not None),
        digits=frozenset(n for w in words if w[0].isdigit() and (n := _number(w)) is not None),
    )


def vocabulary_of(*texts: str) -> frozenset[str]:
    return frozenset(_token_stem(word) for text in texts for word in plain_words(text))


def strip_hedges(answer: str) -> str:
    """The answer without "I don't know", "not sure", "I think"...; "" for "pass" etc."""
    if folded(answer).strip(" .!?-") in _NON_ANSWERS:
        return ""
    return _HEDGES_RE.sub(" ", answer.lower().replace("’", "'"))


def content_recall(reference: str, answer: str) -> float:
    """Fraction of the reference's content words (stemmed) that the answer has.

    This alone is the naive token-recall grader that the tests and the benchmark compare
    `OfflineGrader` with.
    """
    ref, ans = read(reference), read(answer)
    return len(ref.content & ans.content) / len(ref.content) if ref.content else 0.0


# ---------------------------------------------------------------------------------------
# Free text: signs that the meaning changed


def quoted(words: Iterable[str]) -> str:
    return ", ".join(f'"{word}"' for word in words)


def surface_words(text: Reading, stems: Iterable[str]) -> list[str]:
    return [text.surface[stem] for stem in sorted(stems, key=text.stems.index)]
