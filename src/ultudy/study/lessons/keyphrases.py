"""Key-phrase candidates: YAKE's phrases, kept if they look like the name of a concept."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import yake

from ultudy.study.lessons.analysis import Analysis
from ultudy.study.lessons.phrases import phrase_key, phrase_regex
from ultudy.study.text import STOPWORDS, singular, tokenize

GENERIC_WORDS = frozenset(
    """
    way ways case cases example examples thing things number numbers kind kinds type types
    part parts lot lots form forms issue issues problem problems note notes default work
    time times place fact facts point points end result results detail details purpose
    effect effects amount order reason reasons chapter section page pages manual book
    figure item items version versions information idea ideas person people question
    questions answer answers term terms word words line lines name names list lists
    support possibility possibilities use usage help care choice choices range level set
    sets sense variety advice means aspect aspects
    """.split()
)
"""Nouns too vague to be a key concept on their own."""


_NOT_HEADS = frozenset(
    """
    similar different available possible necessary useful important common general specific
    various able likely simple easy hard large small new old written known given taken
    shown done seen made found built begun chosen
    """.split()
)
"""Adjectives and participles: a phrase ending in one is not a noun phrase."""


_NOT_FIRST = frozenset(
    """
    greater larger smaller better higher lower further suppose note see call make let
    consider assume say get give take returns provides runs reports handles gives makes
    """.split()
)
"""Comparatives and verbs that YAKE puts at the front of a phrase."""


_VERB_CUES = frozenset(
    "can cannot could will would may might must should shall does do did not to we they "
    "you i he she it which who also then easily".split()
)


_ED_NOUNS = frozenset("speed need seed feed bed red shed embed hundred".split())
_DOCUMENT_PARTS = frozenset("chapter chapters section sections page pages figure fig".split())
_LY_NOUNS = frozenset("family assembly supply reply anomaly italy july poly monopoly".split())
CLASSIFIERS = (
    "function|functions|package|packages|argument|arguments|command|commands|term|terms|"
    "concept|method|methods|class|classes|type|types|process|notion|word|operator|variable"
)


CLASSIFIER_SET = frozenset(CLASSIFIERS.split("|"))


def verbish_words(sentences: Iterable[str]) -> frozenset[str]:
    """Words used as verbs in this text: they follow "can", "to", "they", ... most times."""
    cued: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for sentence in sentences:
        tokens = tokenize(sentence)
        total.update(tokens)
        cued.update(t for prev, t in itertools.pairwise(tokens) if prev in _VERB_CUES)
    return frozenset(word for word, count in cued.items() if count * 3 >= total[word])


def _is_fragment(tokens: Sequence[str]) -> bool:
    """Starts or ends with a stopword, has an inner stopword other than "of", or a number."""
    if tokens[0] in STOPWORDS or tokens[-1] in STOPWORDS:
        return True
    if any(token in STOPWORDS and token != "of" for token in tokens[1:-1]):
        return True
    return any(re.fullmatch(r"[\d.,%/\-]+", token) for token in tokens)


def acceptable(phrase: str, verbish: frozenset[str]) -> bool:
    """Whether a key-phrase candidate looks like the name of a concept."""
    tokens = [token.lower() for token in phrase.split()]
    if not 1 <= len(tokens) <= 4 or not 3 <= len(phrase) <= 40:
        return False
    if re.search(r"[=(){}\[\]<>;:\"/\\@#$%&*+|‘’“”']|\.\s|\.$", phrase) or _is_fragment(tokens):
        return False
    last = tokens[-1]
    if any(token.endswith("ly") and token not in _LY_NOUNS for token in tokens):
        return False
    if last.endswith("ed") and last not in _ED_NOUNS:
        return False
    if last in _NOT_HEADS or tokens[0] in _NOT_FIRST | CLASSIFIER_SET | _DOCUMENT_PARTS:
        return False
    if "of" in tokens and tokens[0] in GENERIC_WORDS:  # "number of variations"
        return False
    words = phrase.split()
    verb = bool({tokens[0], singular(tokens[0])} & verbish) and not words[0].isupper()
    if verb or all(token in GENERIC_WORDS for token in tokens):
        return False
    if len(tokens) > 1 and last in verbish and words[-1].islower():  # "writeBin read"
        return False
    return not re.fullmatch(r"(?:table|part)\s+\S+", phrase.lower())


def continues(name: str, sentences: Sequence[str], verbish: frozenset[str]) -> bool:
    """Whether the phrase is mostly part of a longer one: "Data Interchange" (+ "Format").

    Noun phrases end in their head noun, so a phrase nearly always followed by the same
    noun-like word is a modifier. A phrase of several words (or a capitalised one) nearly
    always preceded by the same word is the tail of a longer name ("Query Language",
    "management systems").
    """
    regex = phrase_regex(name)
    look_back = len(name.split()) > 1 or name[:1].isupper()
    ignored = STOPWORDS | verbish | CLASSIFIER_SET
    neighbours: Counter[tuple[str, str]] = Counter()
    total = 0
    for sentence in sentences:
        for match in regex.finditer(sentence):
            total += 1
            following = re.match(r"[ \-]([A-Za-z]+)\b", sentence[match.end() :])
            preceding = re.search(r"\b([A-Za-z]+)[ \-]$", sentence[: match.start()])
            if following and following.group(1).lower() not in ignored:
                neighbours["after", following.group(1).lower()] += 1
            if look_back and preceding and preceding.group(1).lower() not in ignored:
                neighbours["before", preceding.group(1).lower()] += 1
    most = max(neighbours.values(), default=0)
    return total > 0 and most * 3 >= total * 2


def _surface_form(phrase: str, sentences: Sequence[str]) -> tuple[str, int] | None:
    """How the text writes the phrase most often (mid-sentence first), and how often."""
    regex = phrase_regex(phrase)
    inner: Counter[str] = Counter()
    initial: Counter[str] = Counter()
    for sentence in sentences:
        for match in regex.finditer(sentence):
            form = " ".join(match.group(0).split())
            (initial if match.start() == 0 else inner)[form] += 1
    forms = inner or initial
    if not forms:
        return None
    best = max(forms.items(), key=lambda item: (item[1], item[0].islower(), item[0]))[0]
    return best, sum(inner.values()) + sum(initial.values())


@dataclass(frozen=True, kw_only=True)
class Candidate:
    name: str
    key: tuple[str, ...]
    order: int
    frequency: int


def _yake_text(analysis: Analysis) -> str:
    lines = [analysis.title, *analysis.headings, *analysis.sentences]
    return " ".join(line if line.endswith((".", "?", "!")) else line + "." for line in lines)


def key_phrases(analysis: Analysis, *, top: int) -> list[Candidate]:
    """YAKE's best phrases that pass `acceptable`, as written in the text, merged by key."""
    if not analysis.sentences:
        return []
    extractor = yake.KeywordExtractor(lan="en", n=3, top=top, dedup_lim=1.0)
    raw = extractor.extract_keywords(_yake_text(analysis))
    verbish = verbish_words(analysis.sentences)
    found: dict[tuple[str, ...], Candidate] = {}
    for order, (phrase, _score) in enumerate(raw):
        phrase = str(phrase)
        if not acceptable(phrase, verbish):
            continue
        surface = _surface_form(phrase, analysis.sentences)
        if surface is None:
            continue
        name, frequency = surface
        key = phrase_key(name)
        if key and key not in found and not continues(name, analysis.sentences, verbish):
            found[key] = Candidate(name=name, key=key, order=order, frequency=frequency)
    return list(found.values())
