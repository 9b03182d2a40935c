"""Lessons: what a lesson is, and the offline engine that writes one without a language model.

A lesson for one section of a course document has a short summary, the section's key
concepts (each with an explanation taken from the text) and check-in questions: multiple
choice ("which term fills the blank?") and short free-text ones.

The offline engine is a small extractive pipeline:

* the text is cleaned (`ultudy.study.text`) and cut into sentences; only full prose
  sentences are used (not headings, list labels or code);
* summary (`analysis`): TextRank — TF-IDF sentence vectors, a cosine-similarity graph,
  PageRank — and the best 3-5 sentences in reading order;
* concepts (`keyphrases`, `concepts`; phrase matching in `phrases`): YAKE key phrases,
  filtered (no fragments, numbers, verbs, generic words or duplicates), ranked up when a
  sentence defines them ("X is ...", "X refers to ...");
* explanation: the defining sentence, else the best-ranked sentence that mentions it;
* questions (`questions`, `distractors`): the defining sentence with the concept blanked
  out, the concept and three other real concepts of the document as choices (shuffled
  with a seed taken from the text, so a section always gets the same lesson); "What is
  meant by X?" with the defining sentence as the reference answer.
"""

from ultudy.study.lessons.model import (
    ConceptDraft,
    LessonDraft,
    LessonEngine,
    QuestionDraft,
    SectionInput,
)
from ultudy.study.lessons.offline import (
    OFFLINE_ENGINE_NAME,
    OfflineLessonEngine,
    build_offline_lesson,
)

__all__ = [
    "OFFLINE_ENGINE_NAME",
    "ConceptDraft",
    "LessonDraft",
    "LessonEngine",
    "OfflineLessonEngine",
    "QuestionDraft",
    "SectionInput",
    "build_offline_lesson",
]
