"""Distractors: real phrases of the document's other sections, unlike the answer."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache

from ultudy.study.lessons.analysis import noun_stems, stems_of
from ultudy.study.lessons.concepts import Concept
from ultudy.study.lessons.keyphrases import CLASSIFIER_SET, acceptable, continues, verbish_words
from ultudy.study.lessons.model import SectionInput
from ultudy.study.lessons.phrases import hinted, is_term_like, name_shape, phrase_key, same_thing
from ultudy.study.text import STOPWORDS, WORD_RE, is_prose, normalize, paragraphs, split_paragraph

_FRONT_MATTER_RE = re.compile(
    r"\b(?:preface|foreword|acknowledge?ments?|thanks?|grateful|gratitude|copyright|"
    r"all rights reserved|isbn|dedicated to|principal authors?|table of contents)\b",
    re.IGNORECASE,
)


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
        if WORD_RE.fullmatch(word) and lowered not in STOPWORDS | verbish | CLASSIFIER_SET:
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
    verbish = verbish_words(sentences)
    counts: Counter[tuple[str, ...]] = Counter()
    forms: dict[tuple[str, ...], Counter[str]] = {}
    for sentence in sentences:
        for run in _runs(sentence, verbish):
            if len(run) <= 3:
                phrase = " ".join(run)
                counts[phrase_key(phrase)] += 1
                forms.setdefault(phrase_key(phrase), Counter())[phrase] += 1
    ranked = sorted(counts, key=lambda key: (-counts[key] * len(key), key))
    nouns = noun_stems(text)
    phrases: list[str] = []
    for key in ranked:
        name = forms[key].most_common(1)[0][0]
        if counts[key] < 2 or not ((len(key) > 1 and key[-1] in nouns) or is_term_like(name)):
            continue
        if acceptable(name, verbish) and not continues(name, sentences, verbish):
            phrases.append(name)
        if len(phrases) == 12:
            break
    return tuple(phrases)


def _related_sections(text: str, others: Sequence[str], limit: int = 10) -> list[str]:
    """The other sections that share the most words with this one, most alike first."""
    mine = stems_of(text)
    scored = []
    for index, other in enumerate(others):
        theirs = stems_of(other)
        if other.strip() and other != text and theirs:
            overlap = len(mine & theirs) / (len(mine) * len(theirs)) ** 0.5 if mine else 0.0
            scored.append((-overlap, index, other))
    return [other for _, _, other in sorted(scored)[:limit]]


def document_phrases(section: SectionInput) -> list[tuple[int, str]]:
    """(closeness, phrase): key phrases of the related sections; 2 for the closest three."""
    phrases: list[tuple[int, str]] = []
    for rank, other in enumerate(_related_sections(section.text, section.other_sections)):
        phrases.extend((2 + rank // 3, phrase) for phrase in _section_phrases(other))
    return phrases


def pick_distractors(
    answer: str, stem: str, pool: Sequence[tuple[int, str]], rng: random.Random
) -> list[str]:
    """Three real phrases of the document, unlike the answer and absent from the stem."""
    fitting = [
        (source, phrase)
        for source, phrase in pool
        if not same_thing(answer, phrase) and not hinted(stem, phrase)
    ]
    shape, size = name_shape(answer), len(answer.split())
    tiebreak = {phrase: rng.random() for _, phrase in fitting}
    fitting.sort(
        key=lambda item: (
            name_shape(item[1]) != shape,
            min(abs(len(item[1].split()) - size), 2),
            item[0],
            tiebreak[item[1]],
        )
    )
    chosen: list[str] = []
    for _, phrase in fitting:
        if not any(same_thing(phrase, other) for other in chosen):
            chosen.append(phrase)
        if len(chosen) == 3:
            break
    return chosen


def distractor_pool(
    concepts: Sequence[Concept],
    valid: Sequence[Concept],
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
