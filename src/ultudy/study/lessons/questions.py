"""Check-in questions: a blanked defining sentence with four choices, and short answers."""

from __future__ import annotations

import random
from collections.abc import Sequence

from ultudy.study.lessons.analysis import Analysis
from ultudy.study.lessons.concepts import Concept, explanation
from ultudy.study.lessons.distractors import pick_distractors
from ultudy.study.lessons.model import QuestionDraft, SectionInput
from ultudy.study.lessons.phrases import hinted, phrase_regex
from ultudy.study.text import text_hash

BLANK = "_____"
MAX_MCQS = 5
MAX_SHORT = 3


def _blank(sentence: str, name: str) -> str | None:
    """The sentence with the name blanked out; None if it would still give the name away."""
    blanked = phrase_regex(name).sub(BLANK, sentence)
    if blanked == sentence or len(blanked.split()) < 6 or hinted(blanked, name):
        return None
    return blanked


def _stem_sentence(concept: Concept, analysis: Analysis) -> str | None:
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


def _mcq(
    concept: Concept, analysis: Analysis, pool: Sequence[tuple[int, str]], seed: int
) -> QuestionDraft | None:
    stem = _stem_sentence(concept, analysis)
    if stem is None:
        return None
    rng = random.Random(text_hash(str(seed), concept.name))
    distractors = pick_distractors(concept.name, stem, pool, rng)
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


def _short_question(concept: Concept, analysis: Analysis) -> QuestionDraft:
    if concept.definition is not None:
        prompt = f"What is meant by “{concept.name}”?"
        reference = analysis.sentences[concept.definition]
    else:
        prompt = f"Explain “{concept.name}” in your own words, as the section uses it."
        reference = explanation(concept, analysis)
    return QuestionDraft(
        type="short", prompt=prompt, concept=concept.name, reference_answer=reference
    )


def _short_count(concepts: int) -> int:
    return 0 if concepts == 0 else 1 if concepts <= 3 else 2 if concepts <= 6 else MAX_SHORT


def _pick_short(concepts: Sequence[Concept], mcq_ready: set[str]) -> list[Concept]:
    """Defined concepts first; one always, more while three MCQ-capable concepts remain."""
    keep = min(3, len(mcq_ready))
    picked: list[Concept] = []
    for concept in sorted(concepts, key=lambda c: c.definition is None):
        if len(picked) == _short_count(len(concepts)):
            break
        taken = sum(c.name in mcq_ready for c in picked) + (concept.name in mcq_ready)
        if not picked or len(mcq_ready) - taken >= keep:
            picked.append(concept)
    return picked


def lesson_questions(
    section: SectionInput,
    analysis: Analysis,
    concepts: Sequence[Concept],
    pool: Sequence[tuple[int, str]],
) -> tuple[QuestionDraft, ...]:
    seed = text_hash(section.title, section.text)
    mcqs = {c.name: _mcq(c, analysis, pool, seed) for c in concepts}
    ready = {name for name, question in mcqs.items() if question is not None}
    short = _pick_short(concepts, ready)
    short_names = {c.name for c in short}
    chosen = [q for c in concepts if c.name not in short_names and (q := mcqs[c.name])]
    return (*chosen[:MAX_MCQS], *(_short_question(c, analysis) for c in short))
