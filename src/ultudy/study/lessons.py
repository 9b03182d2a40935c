"""Lessons: what a lesson is, and the offline engine that writes one without a language model.

A lesson for one section of a course document has a short summary, the section's key
concepts (each with an explanation taken from the text) and check-in questions: multiple
choice ("which term fills the blank?") and short free-text ones.

The offline engine is a small extractive pipeline:

* the text is cleaned (`ultudy.study.text`) and cut into sentences; only full prose
  sentences are used (not headings, list labels or code);
* summary: TextRank — TF-IDF sentence vectors, a cosine-similarity graph, PageRank — and
  the best 3-5 sentences in reading order;
* concepts: YAKE key phrases, filtered (no fragments, numbers, verbs, generic words or
  duplicates), ranked up when a sentence defines them ("X is ...", "X refers to ...");
* explanation: the defining sentence, else the best-ranked sentence that mentions it;
* questions: the defining sentence with the concept blanked out, the concept and three
  other real concepts of the document as choices (shuffled with a seed taken from the
  text, so a section always gets the same lesson); "What is meant by X?" with the defining
  sentence as the reference answer.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, Protocol

import networkx as nx
import numpy as np
import numpy.typing as npt
import yake
from sklearn.feature_extraction.text import TfidfVectorizer

from ultudy.study.text import (
    STOPWORDS,
    content_tokens,
    is_prose,
    normalize,
    paragraphs,
    split_paragraph,
    split_sentences,
    text_hash,
    tokenize,
)

logger = logging.getLogger(__name__)

OFFLINE_ENGINE_NAME = "offline-v1"
BLANK = "_____"
MAX_CONCEPTS = 8
MIN_CONCEPTS = 5
MAX_MCQS = 5
MAX_SHORT = 3


# --- The lesson ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ConceptDraft:
    """A key concept of a section and what the section says about it."""

    name: str
    explanation: str


@dataclass(frozen=True, kw_only=True)
class QuestionDraft:
    """A check-in question about one concept (`concept` is a `ConceptDraft.name`).

    Multiple choice: `choices` and `answer_index`. Short answer: `reference_answer`.
    """

    type: Literal["mcq", "short"]
    prompt: str
    concept: str
    choices: tuple[str, ...] = ()
    answer_index: int | None = None
    reference_answer: str | None = None


@dataclass(frozen=True, kw_only=True)
class LessonDraft:
    """A generated lesson, before it is stored."""

    summary: str
    concepts: tuple[ConceptDraft, ...]
    questions: tuple[QuestionDraft, ...]


@dataclass(frozen=True, kw_only=True)
class SectionInput:
    """One section of a document; `other_sections` are the texts of the document's others."""

    title: str
    text: str
    document_title: str | None = None
    other_sections: tuple[str, ...] = ()


class LessonEngine(Protocol):
    """Writes a lesson for a section. `name` is stored with the lesson ("offline-v1", ...)."""

    name: str

    async def generate(self, section: SectionInput) -> LessonDraft: ...


class OfflineLessonEngine(LessonEngine):
    """The engine used when no language model is configured. CPU work runs in a thread."""

    name: str = OFFLINE_ENGINE_NAME

    async def generate(self, section: SectionInput) -> LessonDraft:
        return await asyncio.to_thread(build_offline_lesson, section)


# --- Reading the section ---------------------------------------------------------------

_WORD_ONLY_RE = re.compile(r"[^\W_]+(?:['’.\-_][^\W_]+)*")
_LIST_LABEL_RE = re.compile(r"^(?:\d{1,2}[.)]|[a-z][.)]|[-•–*·])\s+")
_HEADING_RE = re.compile(r"^(?:\d+(?:\.\d+)*\.?\s+)?([A-Za-z][A-Za-z\- ]{2,60})$")


@dataclass(frozen=True, kw_only=True)
class _Analysis:
    """A section's prose sentences (in reading order), their TextRank scores, its headings."""

    title: str
    sentences: tuple[str, ...]
    listed: frozenset[int]
    ranks: tuple[float, ...]
    similarity: npt.NDArray[np.float64]
    headings: tuple[str, ...]
    word_count: int


def _analyse(title: str, text: str) -> _Analysis:
    """Sentences of prose (list items without their "1." count; summaries skip them)."""
    sentences: list[str] = []
    listed: set[int] = set()
    headings: list[str] = []
    for block in paragraphs(normalize(text)):
        heading = _HEADING_RE.match(block)
        if heading and len(block.split()) <= 6:
            headings.append(heading.group(1).strip())
            continue
        label = _LIST_LABEL_RE.match(block)
        if label:
            listed.add(len(sentences))
        prose = [s for s in split_paragraph(block[label.end() if label else 0 :]) if is_prose(s)]
        sentences.extend(prose)
    similarity = _similarity(sentences)
    return _Analysis(
        title=title,
        sentences=tuple(sentences),
        listed=frozenset(index for index in listed if index < len(sentences)),
        ranks=tuple(_textrank(similarity)),
        similarity=similarity,
        headings=tuple(headings),
        word_count=len(text.split()),
    )


def _similarity(sentences: Sequence[str]) -> npt.NDArray[np.float64]:
    """Cosine similarity of the sentences' TF-IDF vectors (zero diagonal)."""
    size = len(sentences)
    vectorizer = TfidfVectorizer(tokenizer=content_tokens, lowercase=False, token_pattern=None)
    try:
        matrix = vectorizer.fit_transform(sentences)
    except ValueError:  # No sentences, or no content words at all.
        return np.zeros((size, size))
    similarity = np.asarray((matrix @ matrix.T).todense(), dtype=np.float64)
    np.fill_diagonal(similarity, 0.0)
    return similarity


def _textrank(similarity: npt.NDArray[np.float64]) -> list[float]:
    """PageRank over the similarity graph, nudged towards the opening sentences."""
    size = similarity.shape[0]
    if size < 3 or not similarity.any():
        return [1.0 / (index + 1) for index in range(size)]
    graph = nx.from_numpy_array(similarity)
    lead = {index: 1.0 / (index + 1) ** 0.5 for index in range(size)}
    try:
        scores = nx.pagerank(graph, weight="weight", personalization=lead, max_iter=200)
    except nx.PowerIterationFailedConvergence:
        scores = dict(graph.degree(weight="weight"))
    return [float(scores[index]) for index in range(size)]


# --- Summary ---------------------------------------------------------------------------


def _summary_size(count: int) -> int:
    return 3 if count <= 15 else 4 if count <= 30 else 5


def _summary(analysis: _Analysis, text: str) -> str:
    """The best-ranked sentences, in reading order, skipping near-repeats of chosen ones."""
    sentences = analysis.sentences
    if not sentences:
        return _fallback_summary(analysis.title, text)
    pool = [
        i
        for i, sentence in enumerate(sentences)
        if 8 <= len(sentence.split()) <= 45 and i not in analysis.listed
    ]
    pool = pool or list(range(len(sentences)))
    chosen: list[int] = []
    for index in sorted(pool, key=lambda i: (-analysis.ranks[i], i)):
        if all(analysis.similarity[index, other] < 0.4 for other in chosen):
            chosen.append(index)
        if len(chosen) == _summary_size(len(sentences)):
            break
    return " ".join(sentences[i] for i in sorted(chosen))


def _letter_share(text: str) -> float:
    visible = [char for char in text if not char.isspace()]
    return sum(char.isalpha() for char in visible) / max(len(visible), 1)


def _fallback_summary(title: str, text: str) -> str:
    """For text without a single prose sentence: its first wordy lines, else a plain note."""
    wordy = [
        s
        for s in split_sentences(text)
        if _letter_share(s) >= 0.7 and len(s.split()) > 1 and ". . ." not in s
    ]
    words = " ".join(wordy).split()
    if words:
        return " ".join(words[:60]) + (" …" if len(words) > 60 else "")
    return f"The section “{title}” has no text to summarise."


# --- Phrases ---------------------------------------------------------------------------

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
_CLASSIFIERS = (
    "function|functions|package|packages|argument|arguments|command|commands|term|terms|"
    "concept|method|methods|class|classes|type|types|process|notion|word|operator|variable"
)
_CLASSIFIER_SET = frozenset(_CLASSIFIERS.split("|"))
_DEFINING_VERBS = (
    r"(?:is|are|was|were)\s+(?:\w+ly\s+)?(?:an?|the|one|another|any|some|two|three)|"
    r"refers?\s+to|means?|denotes?|stands?\s+for|describes?|represents?|consists?\s+of|"
    r"(?:is|are)\s+(?:called|known\s+as|defined\s+as|termed)"
)
"""What follows a concept in a sentence that defines it: "is a", "refers to", "means", ..."""
_FRONT_MATTER_RE = re.compile(
    r"\b(?:preface|foreword|acknowledge?ments?|thanks?|grateful|gratitude|copyright|"
    r"all rights reserved|isbn|dedicated to|principal authors?|table of contents)\b",
    re.IGNORECASE,
)


def _stem(token: str) -> str:
    """A crude singular: "connections" → "connection", "libraries" → "library"."""
    if not token.isalpha() or len(token) <= 3:
        return token
    if token.endswith("ies") and len(token) > 4:
        return token[:-3] + "y"
    if token.endswith(("sses", "xes", "ches", "shes")):
        return token[:-2]
    if token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def _key(phrase: str) -> tuple[str, ...]:
    """Lower-cased singular tokens: the identity of a phrase ("DBMSs" → ("dbms",))."""
    return tuple(_key_token(word) for word in _WORD_ONLY_RE.findall(phrase))


def _key_token(word: str) -> str:
    if re.fullmatch(r"[A-Z0-9]{2,}s?", word):  # An acronym is not stemmed: "DBMSs" → "dbms".
        return word.removesuffix("s").lower() if word[-1] == "s" else word.lower()
    return _stem(word.lower())


def _token_pattern(token: str) -> str:
    """The token, singular or plural ("pipe", "pipes"; "library", "libraries"; "DBMSs")."""
    if re.fullmatch(r"[A-Z0-9]{2,}s?", token):  # An acronym: "DBMS", "DBMSs".
        return re.escape(token.removesuffix("s")) + "s?"
    lower = token.lower()
    stem = _stem(lower)
    if not stem.isalpha():
        return re.escape(token)
    base = token[: len(stem)] if lower.startswith(stem) else token[: len(stem) - 1] + "y"
    if stem.endswith("y") and len(stem) > 3:
        return re.escape(base[:-1]) + "(?:y|ies)"
    return re.escape(base) + "(?:s|es)?"


@lru_cache(maxsize=4096)
def _phrase_regex(phrase: str) -> re.Pattern[str]:
    """Matches the phrase in running text: singular or plural, any spacing, any case unless
    the phrase has capitals after its first letter."""
    body = r"[\s\-]+".join(_token_pattern(token) for token in phrase.split())
    # "SELECT" or "DBMSs" keep their case ("select" is another word); "Pipes" does not.
    flags = 0 if re.search(r".[A-Z]", phrase) else re.IGNORECASE
    return re.compile(rf"(?<![\w.\-]){body}(?![\w\-]|\.\w)", flags)


_LITERALS = frozenset("TRUE FALSE NULL NA NAN NaN INF Inf NONE None YES NO OK".split())


def _is_term_like(name: str) -> bool:
    """An identifier ("read.table", "colClasses") or an acronym ("DBMSs", "SQL")."""
    if name in _LITERALS:
        return False
    return bool(re.search(r"[._]\w|[a-z][A-Z]|^[A-Z]{2,}", name))


def _verbish_words(sentences: Iterable[str]) -> frozenset[str]:
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


def _acceptable(phrase: str, verbish: frozenset[str]) -> bool:
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
    if last in _NOT_HEADS or tokens[0] in _NOT_FIRST | _CLASSIFIER_SET | _DOCUMENT_PARTS:
        return False
    if "of" in tokens and tokens[0] in GENERIC_WORDS:  # "number of variations"
        return False
    words = phrase.split()
    verb = bool({tokens[0], _stem(tokens[0])} & verbish) and not words[0].isupper()
    if verb or all(token in GENERIC_WORDS for token in tokens):
        return False
    if len(tokens) > 1 and last in verbish and words[-1].islower():  # "writeBin read"
        return False
    return not re.fullmatch(r"(?:table|part)\s+\S+", phrase.lower())


def _continues(name: str, sentences: Sequence[str], verbish: frozenset[str]) -> bool:
    """Whether the phrase is mostly part of a longer one: "Data Interchange" (+ "Format").

    Noun phrases end in their head noun, so a phrase nearly always followed by the same
    noun-like word is a modifier. A phrase of several words (or a capitalised one) nearly
    always preceded by the same word is the tail of a longer name ("Query Language",
    "management systems").
    """
    regex = _phrase_regex(name)
    look_back = len(name.split()) > 1 or name[:1].isupper()
    ignored = STOPWORDS | verbish | _CLASSIFIER_SET
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
    regex = _phrase_regex(phrase)
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
class _Candidate:
    name: str
    key: tuple[str, ...]
    order: int
    frequency: int


def _yake_text(analysis: _Analysis) -> str:
    lines = [analysis.title, *analysis.headings, *analysis.sentences]
    return " ".join(line if line.endswith((".", "?", "!")) else line + "." for line in lines)


def _key_phrases(analysis: _Analysis, *, top: int) -> list[_Candidate]:
    """YAKE's best phrases that pass `_acceptable`, as written in the text, merged by key."""
    if not analysis.sentences:
        return []
    extractor = yake.KeywordExtractor(lan="en", n=3, top=top, dedup_lim=1.0)
    raw = extractor.extract_keywords(_yake_text(analysis))
    verbish = _verbish_words(analysis.sentences)
    found: dict[tuple[str, ...], _Candidate] = {}
    for order, (phrase, _score) in enumerate(raw):
        phrase = str(phrase)
        if not _acceptable(phrase, verbish):
            continue
        surface = _surface_form(phrase, analysis.sentences)
        if surface is None:
            continue
        name, frequency = surface
        key = _key(name)
        if key and key not in found and not _continues(name, analysis.sentences, verbish):
            found[key] = _Candidate(name=name, key=key, order=order, frequency=frequency)
    return list(found.values())


def _overlaps(first: tuple[str, ...], second: tuple[str, ...]) -> bool:
    """Whether one phrase's words appear, in order, inside the other's."""
    short, long = sorted((first, second), key=len)
    return any(long[i : i + len(short)] == short for i in range(len(long) - len(short) + 1))


def _is_acronym_of(short: str, long: tuple[str, ...]) -> bool:
    """ "dbms" for ("database", "management", "system"): each initial, in order."""
    letters = short[:-1] if short.endswith("s") and len(short) > 2 else short
    initials = [token[0] for token in long if token not in STOPWORDS]
    if len(initials) < 2 or not letters.isalpha() or letters[0] != initials[0]:
        return False
    rest = iter(letters)
    return all(initial in rest for initial in initials) and len(letters) <= 2 * len(initials)


def _same_thing(first: str, second: str) -> bool:
    """Equal, one inside the other, or one the acronym of the other ("DBMSs")."""
    a, b = _key(first), _key(second)
    if not a or not b or _overlaps(a, b):
        return True
    short, long = sorted((a, b), key=len)
    return len(short) == 1 and _is_acronym_of(short[0], long)


# --- Concepts --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Concept:
    name: str
    key: tuple[str, ...]
    definition: int | None
    mentions: tuple[int, ...]
    score: float
    strong: bool


@lru_cache(maxsize=4096)
def _definition_patterns(phrase: str) -> tuple[re.Pattern[str], ...]:
    """Patterns of a sentence that defines the phrase, strongest first (see below)."""
    regex = _phrase_regex(phrase)
    x = f"(?i:{regex.pattern})" if regex.flags & re.IGNORECASE else regex.pattern
    aside = r"(?:\s*\([^)]{1,60}\))?(?:,[^,]{1,60},)?"
    defines = rf"{x}{aside}\s+(?i:{_DEFINING_VERBS})\b"
    patterns = [
        rf"^(?i:(?:the|a|an)\s+)?(?i:(?:{_CLASSIFIERS})\s+)?{defines}",
        defines,
        rf"(?i:called|known\s+as|termed|referred\s+to\s+as)\s+\W?{x}",
    ]
    if _is_term_like(phrase):  # An acronym being introduced: "... systems (DBMSs)".
        patterns.append(rf"\w\s+\(\s*{x}\s*\)")
    return tuple(re.compile(pattern) for pattern in patterns)


def _definition_strength(sentence: str, phrase: str) -> int:
    """3: the sentence opens "X is a/refers to/means ..."; 2: says so later, "called X", or
    introduces X as an acronym; 0: it does not define X."""
    opening, *others = _definition_patterns(phrase)
    if opening.search(sentence):
        return 3
    return 2 if any(pattern.search(sentence) for pattern in others) else 0


def _best_definition(phrase: str, analysis: _Analysis, mentions: Sequence[int]) -> tuple[int, int]:
    """(strength, sentence index) of the sentence that best defines the phrase."""
    best = (0, -1)
    for index in mentions:
        strength = _definition_strength(analysis.sentences[index], phrase)
        if strength > best[0]:
            best = (strength, index)
    return best


@lru_cache(maxsize=512)
def _stems_of(text: str) -> frozenset[str]:
    return frozenset(_stem(token) for token in content_tokens(text))


@dataclass(frozen=True, kw_only=True)
class _Context:
    """What concept selection needs to know besides the section: the other sections' words."""

    others: tuple[frozenset[str], ...]
    excluded: tuple[tuple[str, ...], ...]
    nouns: frozenset[str]

    def specific(self, stem: str) -> bool:
        """Whether a word belongs to this section: used in at most a quarter of the others."""
        if not self.others:
            return False
        return sum(stem in words for words in self.others) * 4 <= len(self.others)


def _headed(phrase: str, analysis: _Analysis) -> bool:
    regex = _phrase_regex(phrase)
    return any(regex.search(line) for line in (analysis.title, *analysis.headings))


_ARTICLES = frozenset("a an the its their his her our your my each every another".split())


def _subject_and_verb(name: str, nouns: frozenset[str]) -> bool:
    """ "RODBC runs", "isSeekable reports": a name and a verb, not a noun phrase."""
    words = name.split()
    last = words[-1]
    if len(words) < 2 or not re.fullmatch(r"[a-z]+[^s]s", last):
        return False
    return _stem(last) not in nouns and (words[-2][:1].isupper() or _is_term_like(words[-2]))


def _modifier(word: str, analysis: _Analysis) -> bool:
    """A word mostly followed by another content word ("standard output"): an adjective."""
    regex = _phrase_regex(word)
    followed = total = 0
    for sentence in analysis.sentences:
        for match in regex.finditer(sentence):
            total += 1
            after = re.match(r" ([A-Za-z]+)\b", sentence[match.end() :])
            followed += bool(after and after.group(1).lower() not in STOPWORDS)
    return total > 0 and followed * 3 >= total * 2


def _single_word_ok(
    candidate: _Candidate, analysis: _Analysis, context: _Context, strength: int
) -> bool:
    """One word is a concept if it is a term, defined, a heading, or frequent here only."""
    if _is_term_like(candidate.name) or strength >= 2 or _headed(candidate.name, analysis):
        return True
    if candidate.name.lower().endswith("ing"):  # "writing": a verb more often than not.
        return False
    if candidate.key[0] not in context.nouns or _modifier(candidate.name, analysis):
        return False
    return candidate.frequency >= 3 and context.specific(candidate.key[0])


def _score(candidate: _Candidate, analysis: _Analysis, count: int, strength: int) -> float:
    """Lower is better: YAKE's rank, adjusted for definitions, repetition and the title."""
    score = candidate.order / max(count, 1)
    score -= 0.4 if strength >= 3 else 0.2 if strength == 2 else 0.0
    multiword = len(candidate.key) > 1
    if multiword and candidate.frequency >= 2:
        score -= 0.1
    if _headed(candidate.name, analysis):
        score -= 0.1
    if not multiword and not _is_term_like(candidate.name):
        score += 0.2
    if candidate.frequency == 1 and strength < 2:
        score += 0.15
    return score


def _concept(
    candidate: _Candidate, analysis: _Analysis, count: int, context: _Context
) -> _Concept | None:
    regex = _phrase_regex(candidate.name)
    mentions = [i for i, sentence in enumerate(analysis.sentences) if regex.search(sentence)]
    if not mentions:
        return None
    strength, where = _best_definition(candidate.name, analysis, mentions)
    if len(candidate.key) == 1 and not _single_word_ok(candidate, analysis, context, strength):
        return None
    if _subject_and_verb(candidate.name, context.nouns):
        return None
    if candidate.frequency == 1 and strength < 2 and _shape(candidate.name) == "proper":
        return None  # A name mentioned once in passing ("Address Book").
    return _Concept(
        name=candidate.name,
        key=candidate.key,
        definition=where if strength >= 2 else None,
        mentions=tuple(sorted(mentions, key=lambda i: (-analysis.ranks[i], i))),
        score=_score(candidate, analysis, count, strength),
        strong=strength >= 2 or candidate.frequency >= 2 or _is_term_like(candidate.name),
    )


def _valid_concepts(
    candidates: Sequence[_Candidate], analysis: _Analysis, context: _Context
) -> list[_Concept]:
    """The candidates that pass as concepts, best first."""
    count = len(candidates)
    scored = [_concept(candidate, analysis, count, context) for candidate in candidates]
    valid = (c for c in scored if c is not None and c.key not in context.excluded)
    return sorted(valid, key=lambda c: (c.score, c.name))


def _select_concepts(ranked: Sequence[_Concept]) -> list[_Concept]:
    """The best concepts, none overlapping a better one."""
    chosen: list[_Concept] = []
    # Phrases the text repeats or defines first; phrases met once only to reach five.
    for concept in [c for c in ranked if c.strong] + [c for c in ranked if not c.strong]:
        limit = MAX_CONCEPTS if concept.strong else MIN_CONCEPTS
        if len(chosen) >= limit:
            continue
        if not any(_same_thing(concept.name, c.name) for c in chosen):
            chosen.append(concept)
    return sorted(chosen, key=lambda c: (c.score, c.name))


def _explanation(concept: _Concept, analysis: _Analysis) -> str:
    """The defining sentence (else the best one mentioning it), plus one more if short."""
    first = concept.definition if concept.definition is not None else concept.mentions[0]
    picked = [first]
    if len(analysis.sentences[first].split()) < 20:
        picked += [i for i in concept.mentions if i != first][:1]
    return " ".join(analysis.sentences[i] for i in sorted(picked))


# --- Distractors from the rest of the document -----------------------------------------


def _prose_sentences(text: str) -> list[str]:
    return [
        s for block in paragraphs(normalize(text)) for s in split_paragraph(block) if is_prose(s)
    ]


def _is_front_matter(text: str, sentences: Sequence[str]) -> bool:
    """A preface, acknowledgements, a contents list or an index: no source of distractors."""
    prose_words = sum(len(sentence.split()) for sentence in sentences)
    if prose_words < 0.4 * max(len(text.split()), 1):
        return True
    return bool(_FRONT_MATTER_RE.search(text[:400])) or len(_FRONT_MATTER_RE.findall(text)) >= 2


def _runs(sentence: str, verbish: frozenset[str]) -> Iterable[list[str]]:
    """Runs of words between stopwords, verbs and punctuation (RAKE's candidate phrases)."""
    run: list[str] = []
    for piece in re.split(r"([,;:()\[\]\"“”‘’!?]|\s+)", sentence):
        word = piece.strip(".")
        if not word or word.isspace():
            continue
        lowered = word.lower()
        if _WORD_ONLY_RE.fullmatch(word) and lowered not in STOPWORDS | verbish | _CLASSIFIER_SET:
            run.append(word)
            continue
        if run:
            yield run
        run = []
    if run:
        yield run


@lru_cache(maxsize=512)
def _section_phrases(text: str) -> tuple[str, ...]:
    """Key phrases of another section: its repeated noun-like word runs (none for front matter).

    A light RAKE-style pass rather than YAKE: it runs over every other section of the
    document, so it has to be cheap.
    """
    sentences = _prose_sentences(text)
    if not sentences or _is_front_matter(text, sentences):
        return ()
    verbish = _verbish_words(sentences)
    counts: Counter[tuple[str, ...]] = Counter()
    forms: dict[tuple[str, ...], Counter[str]] = {}
    for sentence in sentences:
        for run in _runs(sentence, verbish):
            if len(run) <= 3:
                phrase = " ".join(run)
                counts[_key(phrase)] += 1
                forms.setdefault(_key(phrase), Counter())[phrase] += 1
    ranked = sorted(counts, key=lambda key: (-counts[key] * len(key), key))
    nouns = _noun_stems(text)
    phrases: list[str] = []
    for key in ranked:
        name = forms[key].most_common(1)[0][0]
        if counts[key] < 2 or not ((len(key) > 1 and key[-1] in nouns) or _is_term_like(name)):
            continue
        if _acceptable(name, verbish) and not _continues(name, sentences, verbish):
            phrases.append(name)
        if len(phrases) == 12:
            break
    return tuple(phrases)


@lru_cache(maxsize=512)
def _noun_stems(text: str) -> frozenset[str]:
    """Words seen right after a determiner, or after one adjective: "a (special) file"."""
    tokens = tokenize(text)
    found: set[str] = set()
    for index, token in enumerate(tokens[:-2]):
        if token in _ARTICLES:
            following = tokens[index + 1]
            found.add(_stem(following))
            if re.search(r"(?:al|ic|ive|ous|ful|ent|ant|ary|ble|ed|ing|ar)$", following):
                found.add(_stem(tokens[index + 2]))
    return frozenset(found)


def _related_sections(text: str, others: Sequence[str], limit: int = 10) -> list[str]:
    """The other sections that share the most words with this one, most alike first."""
    mine = _stems_of(text)
    scored = []
    for index, other in enumerate(others):
        theirs = _stems_of(other)
        if other.strip() and other != text and theirs:
            overlap = len(mine & theirs) / (len(mine) * len(theirs)) ** 0.5 if mine else 0.0
            scored.append((-overlap, index, other))
    return [other for _, _, other in sorted(scored)[:limit]]


def _document_phrases(section: SectionInput) -> list[tuple[int, str]]:
    """(closeness, phrase): key phrases of the related sections; 2 for the closest three."""
    phrases: list[tuple[int, str]] = []
    for rank, other in enumerate(_related_sections(section.text, section.other_sections)):
        phrases.extend((2 + rank // 3, phrase) for phrase in _section_phrases(other))
    return phrases


# --- Questions -------------------------------------------------------------------------


def _hinted(text: str, phrase: str) -> bool:
    """Whether the phrase shows in the text, even inside a compound ("file" in "flat-file")."""
    regex = _phrase_regex(phrase)
    loose = regex.pattern.replace(r"(?<![\w.\-])", r"(?<![^\W_])", 1)
    loose = loose.replace(r"(?![\w\-]|\.\w)", r"(?![^\W_])")
    return re.search(loose, text, regex.flags) is not None


def _blank(sentence: str, name: str) -> str | None:
    """The sentence with the name blanked out; None if it would still give the name away."""
    blanked = _phrase_regex(name).sub(BLANK, sentence)
    if blanked == sentence or len(blanked.split()) < 6 or _hinted(blanked, name):
        return None
    return blanked


def _stem_sentence(concept: _Concept, analysis: _Analysis) -> str | None:
    """The sentence to blank: the definition, else the best 8-45-word sentence about it."""
    order = [concept.definition] if concept.definition is not None else []
    order += [i for i in concept.mentions if i != concept.definition]
    for index in order:
        sentence = analysis.sentences[index]
        if 8 <= len(sentence.split()) <= 45:
            blanked = _blank(sentence, concept.name)
            if blanked is not None:
                return blanked
    return None


def _shape(name: str) -> str:
    """What kind of name it is, so that distractors look like the answer."""
    if re.fullmatch(r"[A-Z0-9\-]{2,}s?", name):
        return "acronym"
    if _is_term_like(name):
        return "identifier"
    if all(word[:1].isupper() for word in name.split()):
        return "proper"
    return "phrase"


def _distractors(
    answer: str, stem: str, pool: Sequence[tuple[int, str]], rng: random.Random
) -> list[str]:
    """Three real phrases of the document, unlike the answer and absent from the stem."""
    fitting = [
        (source, phrase)
        for source, phrase in pool
        if not _same_thing(answer, phrase) and not _hinted(stem, phrase)
    ]
    shape, size = _shape(answer), len(answer.split())
    tiebreak = {phrase: rng.random() for _, phrase in fitting}
    fitting.sort(
        key=lambda item: (
            _shape(item[1]) != shape,
            min(abs(len(item[1].split()) - size), 2),
            item[0],
            tiebreak[item[1]],
        )
    )
    chosen: list[str] = []
    for _, phrase in fitting:
        if not any(_same_thing(phrase, other) for other in chosen):
            chosen.append(phrase)
        if len(chosen) == 3:
            break
    return chosen


def _mcq(
    concept: _Concept, analysis: _Analysis, pool: Sequence[tuple[int, str]], seed: int
) -> QuestionDraft | None:
    stem = _stem_sentence(concept, analysis)
    if stem is None:
        return None
    rng = random.Random(text_hash(str(seed), concept.name))
    distractors = _distractors(concept.name, stem, pool, rng)
    if len(distractors) < 3:
        return None
    choices = [concept.name, *distractors]
    rng.shuffle(choices)
    return QuestionDraft(
        type="mcq",
        prompt=f"Which term fills the blank? “{stem}”",
        concept=concept.name,
        choices=tuple(choices),
        answer_index=choices.index(concept.name),
    )


def _short_question(concept: _Concept, analysis: _Analysis) -> QuestionDraft:
    if concept.definition is not None:
        prompt = f"What is meant by “{concept.name}”?"
        reference = analysis.sentences[concept.definition]
    else:
        prompt = f"Explain “{concept.name}” in your own words, as the section uses it."
        reference = _explanation(concept, analysis)
    return QuestionDraft(
        type="short", prompt=prompt, concept=concept.name, reference_answer=reference
    )


def _short_count(concepts: int) -> int:
    return 0 if concepts == 0 else 1 if concepts <= 3 else 2 if concepts <= 6 else MAX_SHORT


def _pick_short(concepts: Sequence[_Concept], mcq_ready: set[str]) -> list[_Concept]:
    """Defined concepts first; one always, more while three MCQ-capable concepts remain."""
    keep = min(3, len(mcq_ready))
    picked: list[_Concept] = []
    for concept in sorted(concepts, key=lambda c: c.definition is None):
        if len(picked) == _short_count(len(concepts)):
            break
        taken = sum(c.name in mcq_ready for c in picked) + (concept.name in mcq_ready)
        if not picked or len(mcq_ready) - taken >= keep:
            picked.append(concept)
    return picked


def _questions(
    section: SectionInput,
    analysis: _Analysis,
    concepts: Sequence[_Concept],
    pool: Sequence[tuple[int, str]],
) -> tuple[QuestionDraft, ...]:
    seed = text_hash(section.title, section.text)
    mcqs = {c.name: _mcq(c, analysis, pool, seed) for c in concepts}
    ready = {name for name, question in mcqs.items() if question is not None}
    short = _pick_short(concepts, ready)
    short_names = {c.name for c in short}
    chosen = [q for c in concepts if c.name not in short_names and (q := mcqs[c.name])]
    return (*chosen[:MAX_MCQS], *(_short_question(c, analysis) for c in short))


def _distractor_pool(
    concepts: Sequence[_Concept],
    valid: Sequence[_Concept],
    document: Sequence[tuple[int, str]],
) -> list[tuple[int, str]]:
    """(source, phrase): this section's concepts (0), its other repeated or defined concepts
    (1), key phrases of the related sections (2+)."""
    names = [c.name for c in concepts]
    extra = [c.name for c in valid if c.name not in names and c.strong]
    pool = [(0, name) for name in names] + [(1, name) for name in extra]
    pool += document
    seen: set[str] = set()
    unique: list[tuple[int, str]] = []
    for source, phrase in pool:
        if phrase.lower() not in seen:
            seen.add(phrase.lower())
            unique.append((source, phrase))
    return unique


def build_offline_lesson(section: SectionInput) -> LessonDraft:
    """The offline engine's lesson for one section (CPU-bound; deterministic)."""
    analysis = _analyse(section.title, section.text)
    candidates = _key_phrases(analysis, top=100)
    others = [other for other in section.other_sections if other != section.text]
    context = _Context(
        others=tuple(_stems_of(other) for other in others),
        excluded=(_key(section.document_title or ""),),
        nouns=frozenset().union(*(_noun_stems(text) for text in (section.text, *others))),
    )
    valid = _valid_concepts(candidates, analysis, context)
    concepts = _select_concepts(valid)
    pool = _distractor_pool(concepts, valid, _document_phrases(section))
    lesson = LessonDraft(
        summary=_summary(analysis, section.text),
        concepts=tuple(
            ConceptDraft(name=c.name, explanation=_explanation(c, analysis)) for c in concepts
        ),
        questions=_questions(section, analysis, concepts, pool),
    )
    logger.debug(
        "offline lesson for %r: %d concepts, %d questions",
        section.title,
        len(lesson.concepts),
        len(lesson.questions),
    )
    return lesson
