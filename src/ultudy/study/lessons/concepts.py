"""Concepts: the key phrases a section repeats, defines or heads, and what it says of them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from ultudy.study.lessons.analysis import Analysis
from ultudy.study.lessons.keyphrases import CLASSIFIERS, Candidate
from ultudy.study.lessons.phrases import is_term_like, name_shape, phrase_regex, same_thing
from ultudy.study.text import STOPWORDS, singular

MAX_CONCEPTS = 8
MIN_CONCEPTS = 5
_DEFINING_VERBS = (
    r"(?:is|are|was|were)\s+(?:\w+ly\s+)?(?:an?|the|one|another|any|some|two|three)|"
    r"refers?\s+to|means?|denotes?|stands?\s+for|describes?|represents?|consists?\s+of|"
    r"(?:is|are)\s+(?:called|known\s+as|defined\s+as|termed)"
)
"""What follows a concept in a sentence that defines it: "is a", "refers to", "means", ..."""


@dataclass(frozen=True, kw_only=True)
class Concept:
    name: str
    key: tuple[str, ...]
    definition: int | None
    mentions: tuple[int, ...]
    score: float
    strong: bool


@lru_cache(maxsize=4096)
def _definition_patterns(phrase: str) -> tuple[re.Pattern[str], ...]:
    """Patterns of a sentence that defines the phrase, strongest first (see below)."""
    regex = phrase_regex(phrase)
    x = f"(?i:{regex.pattern})" if regex.flags & re.IGNORECASE else regex.pattern
    aside = r"(?:\s*\([^)]{1,60}\))?(?:,[^,]{1,60},)?"
    defines = rf"{x}{aside}\s+(?i:{_DEFINING_VERBS})\b"
    patterns = [
        rf"^(?i:(?:the|a|an)\s+)?(?i:(?:{CLASSIFIERS})\s+)?{defines}",
        defines,
        rf"(?i:called|known\s+as|termed|referred\s+to\s+as)\s+\W?{x}",
    ]
    if is_term_like(phrase):  # An acronym being introduced: "... systems (DBMSs)".
        patterns.append(rf"\w\s+\(\s*{x}\s*\)")
    return tuple(re.compile(pattern) for pattern in patterns)


def _definition_strength(sentence: str, phrase: str) -> int:
    """3: the sentence opens "X is a/refers to/means ..."; 2: says so later, "called X", or
    introduces X as an acronym; 0: it does not define X."""
    opening, *others = _definition_patterns(phrase)
    if opening.search(sentence):
        return 3
    return 2 if any(pattern.search(sentence) for pattern in others) else 0


def _best_definition(phrase: str, analysis: Analysis, mentions: Sequence[int]) -> tuple[int, int]:
    """(strength, sentence index) of the sentence that best defines the phrase."""
    best = (0, -1)
    for index in mentions:
        strength = _definition_strength(analysis.sentences[index], phrase)
        if strength > best[0]:
            best = (strength, index)
    return best


@dataclass(frozen=True, kw_only=True)
class Context:
    """What concept selection needs to know besides the section: the other sections' words."""

    others: tuple[frozenset[str], ...]
    excluded: tuple[tuple[str, ...], ...]
    nouns: frozenset[str]

    def specific(self, stem: str) -> bool:
        """Whether a word belongs to this section: used in at most a quarter of the others."""
        if not self.others:
            return False
        return sum(stem in words for words in self.others) * 4 <= len(self.others)


def _headed(phrase: str, analysis: Analysis) -> bool:
    regex = phrase_regex(phrase)
    return any(regex.search(line) for line in (analysis.title, *analysis.headings))


def _subject_and_verb(name: str, nouns: frozenset[str]) -> bool:
    """ "RODBC runs", "isSeekable reports": a name and a verb, not a noun phrase."""
    words = name.split()
    last = words[-1]
    if len(words) < 2 or not re.fullmatch(r"[a-z]+[^s]s", last):
        return False
    return singular(last) not in nouns and (words[-2][:1].isupper() or is_term_like(words[-2]))


def _modifier(word: str, analysis: Analysis) -> bool:
    """A word mostly followed by another content word ("standard output"): an adjective."""
    regex = phrase_regex(word)
    followed = total = 0
    for sentence in analysis.sentences:
        for match in regex.finditer(sentence):
            total += 1
            after = re.match(r" ([A-Za-z]+)\b", sentence[match.end() :])
            followed += bool(after and after.group(1).lower() not in STOPWORDS)
    return total > 0 and followed * 3 >= total * 2


def _single_word_ok(
    candidate: Candidate, analysis: Analysis, context: Context, strength: int
) -> bool:
    """One word is a concept if it is a term, defined, a heading, or frequent here only."""
    if is_term_like(candidate.name) or strength >= 2 or _headed(candidate.name, analysis):
        return True
    if candidate.name.lower().endswith("ing"):  # "writing": a verb more often than not.
        return False
    if candidate.key[0] not in context.nouns or _modifier(candidate.name, analysis):
        return False
    return candidate.frequency >= 3 and context.specific(candidate.key[0])


def _score(candidate: Candidate, analysis: Analysis, count: int, strength: int) -> float:
    """Lower is better: YAKE's rank, adjusted for definitions, repetition and the title."""
    score = candidate.order / max(count, 1)
    score -= 0.4 if strength >= 3 else 0.2 if strength == 2 else 0.0
    multiword = len(candidate.key) > 1
    if multiword and candidate.frequency >= 2:
        score -= 0.1
    if _headed(candidate.name, analysis):
        score -= 0.1
    if not multiword and not is_term_like(candidate.name):
        score += 0.2
    if candidate.frequency == 1 and strength < 2:
        score += 0.15
    return score


def _concept(
    candidate: Candidate, analysis: Analysis, count: int, context: Context
) -> Concept | None:
    regex = phrase_regex(candidate.name)
    mentions = [i for i, sentence in enumerate(analysis.sentences) if regex.search(sentence)]
    if not mentions:
        return None
    strength, where = _best_definition(candidate.name, analysis, mentions)
    if len(candidate.key) == 1 and not _single_word_ok(candidate, analysis, context, strength):
        return None
    if _subject_and_verb(candidate.name, context.nouns):
        return None
    if candidate.frequency == 1 and strength < 2 and name_shape(candidate.name) == "proper":
        return None  # A name mentioned once in passing ("Address Book").
    return Concept(
        name=candidate.name,
        key=candidate.key,
        definition=where if strength >= 2 else None,
        mentions=tuple(sorted(mentions, key=lambda i: (-analysis.ranks[i], i))),
        score=_score(candidate, analysis, count, strength),
        strong=strength >= 2 or candidate.frequency >= 2 or is_term_like(candidate.name),
    )


def valid_concepts(
    candidates: Sequence[Candidate], analysis: Analysis, context: Context
) -> list[Concept]:
    """The candidates that pass as concepts, best first."""
    count = len(candidates)
    scored = [_concept(candidate, analysis, count, context) for candidate in candidates]
    valid = (c for c in scored if c is not None and c.key not in context.excluded)
    return sorted(valid, key=lambda c: (c.score, c.name))


def select_concepts(ranked: Sequence[Concept]) -> list[Concept]:
    """The best concepts, none overlapping a better one."""
    chosen: list[Concept] = []
    # Phrases the text repeats or defines first; phrases met once only to reach five.
    for concept in [c for c in ranked if c.strong] + [c for c in ranked if not c.strong]:
        limit = MAX_CONCEPTS if concept.strong else MIN_CONCEPTS
        if len(chosen) >= limit:
            continue
        if not any(same_thing(concept.name, c.name) for c in chosen):
            chosen.append(concept)
    return sorted(chosen, key=lambda c: (c.score, c.name))


def explanation(concept: Concept, analysis: Analysis) -> str:
    """The defining sentence (else the best one mentioning it), plus one more if short."""
    first = concept.definition if concept.definition is not None else concept.mentions[0]
    picked = [first]
    if len(analysis.sentences[first].split()) < 20:
        picked += [i for i in concept.mentions if i != first][:1]
    return " ".join(analysis.sentences[i] for i in sorted(picked))
