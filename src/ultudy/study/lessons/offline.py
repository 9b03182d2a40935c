"""The offline lesson engine: an extractive pipeline, no language model."""

from __future__ import annotations

import asyncio
import logging

from ultudy.study.lessons.analysis import analyse, noun_stems, stems_of, summary
from ultudy.study.lessons.concepts import Context, explanation, select_concepts, valid_concepts
from ultudy.study.lessons.distractors import distractor_pool, document_phrases
from ultudy.study.lessons.keyphrases import key_phrases
from ultudy.study.lessons.model import ConceptDraft, LessonDraft, LessonEngine, SectionInput
from ultudy.study.lessons.phrases import phrase_key
from ultudy.study.lessons.questions import lesson_questions

logger = logging.getLogger(__name__)
OFFLINE_ENGINE_NAME = "offline-v1"


class OfflineLessonEngine(LessonEngine):
    """The engine used when no language model is configured. CPU work runs in a thread."""

    name: str = OFFLINE_ENGINE_NAME

    async def generate(self, section: SectionInput) -> LessonDraft:
        return await asyncio.to_thread(build_offline_lesson, section)


def build_offline_lesson(section: SectionInput) -> LessonDraft:
    """The offline engine's lesson for one section (CPU-bound; deterministic)."""
    analysis = analyse(section.title, section.text)
    candidates = key_phrases(analysis, top=100)
    others = [other for other in section.other_sections if other != section.text]
    context = Context(
        others=tuple(stems_of(other) for other in others),
        excluded=(phrase_key(section.document_title or ""),),
        nouns=frozenset().union(*(noun_stems(text) for text in (section.text, *others))),
    )
    valid = valid_concepts(candidates, analysis, context)
    concepts = select_concepts(valid)
    pool = distractor_pool(concepts, valid, document_phrases(section))
    lesson = LessonDraft(
        summary=summary(analysis, section.text),
        concepts=tuple(
            ConceptDraft(name=c.name, explanation=explanation(c, analysis)) for c in concepts
        ),
        questions=lesson_questions(section, analysis, concepts, pool),
    )
    logger.debug(
        "offline lesson for %r: %d concepts, %d questions",
        section.title,
        len(lesson.concepts),
        len(lesson.questions),
    )
    return lesson
