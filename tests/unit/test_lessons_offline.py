"""The offline lesson engine on a real document: every section of the R manual
"R Data Import/Export" as pypdfium2 extracts it (tests/data/sections, see SOURCES.md)."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import re
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from ultudy.study.lessons import (
    LessonDraft,
    OfflineLessonEngine,
    QuestionDraft,
    SectionInput,
    build_offline_lesson,
)
from ultudy.study.text import STOPWORDS, normalize, paragraphs, split_sentences, tokenize

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ROOT / "tests" / "data" / "sections" / "r-data"
DOCUMENT = "R Data Import/Export"
NOT_PROSE = ("00-", "41-", "42-")  # acknowledgements and the two indexes
BLANK = "_____"

TYPICAL = [
    "04-export-to-text-files.txt",
    "07-variations-on-read-table.txt",
    "12-flat-contingency-tables.txt",
    "17-why-use-a-database.txt",
    "19-sql-queries.txt",
    "29-types-of-connections.txt",
]
"""Sections of 300-1300 words of prose."""


@functools.cache
def texts() -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(SECTIONS.glob("*.txt"))}


ALL = list(texts())


def section(name: str, *, others: bool = True) -> SectionInput:
    return SectionInput(
        title=re.sub(r"^\d+-", "", name.removesuffix(".txt")).replace("-", " "),
        text=texts()[name],
        document_title=DOCUMENT,
        other_sections=tuple(t for n, t in texts().items() if n != name) if others else (),
    )


@functools.cache
def lesson(name: str) -> LessonDraft:
    return build_offline_lesson(section(name))


def flat(text: str) -> str:
    """The text as the engine reads it: cleaned, wrapped lines joined."""
    return " ".join(paragraphs(normalize(text)))


def _word_pattern(word: str) -> str:
    if re.fullmatch(r"[A-Z0-9]{2,}s?", word):  # an acronym: "HTTPS" is not "HTTP" + s
        return re.escape(word.removesuffix("s") if word.endswith("s") else word) + "s?"
    lower = word.lower()
    if lower.endswith("ies") or (lower.endswith("y") and len(lower) > 3):
        return re.escape(word[: -3 if lower.endswith("ies") else -1]) + "(?:y|ies)"
    base = word[:-1] if lower.endswith("s") and not lower.endswith("ss") else word
    return re.escape(base) + "(?:s|es)?"


def mentions(text: str, phrase: str) -> bool:
    """Whether `text` has the phrase as whole words, even inside a hyphenated compound
    ("file" in "flat-file"); any case, singular or plural."""
    pattern = r"[\s\-]+".join(_word_pattern(word) for word in phrase.split())
    return re.search(rf"(?<![\w.]){pattern}(?![\w])", text, re.IGNORECASE) is not None


def sentences_of(text: str, source: str) -> list[str] | None:
    """The whole sentences of `source` that `text` is made of, or None."""
    split = split_sentences(source)
    # The engine drops list labels: "4. Concurrent access ..." is used as "Concurrent ...".
    unlabelled = [re.sub(r"^(?:\d{1,2}[.)]|[-•–])\s+", "", s) for s in split]
    sentences = sorted({*split, *unlabelled}, key=len, reverse=True)
    found: list[str] = []
    rest = text.strip()
    while rest:
        match = next((s for s in sentences if rest.startswith(s)), None)
        if match is None:
            return None
        found.append(match)
        rest = rest[len(match) :].lstrip()
    return found


def made_of_sentences(text: str, source: str) -> bool:
    return sentences_of(text, source) is not None


def mcqs(draft: LessonDraft) -> list[QuestionDraft]:
    return [q for q in draft.questions if q.type == "mcq"]


def distractors(question: QuestionDraft) -> list[str]:
    return [c for i, c in enumerate(question.choices) if i != question.answer_index]


def stem(question: QuestionDraft) -> str:
    return question.prompt.split("“", 1)[1]


# --- Summary ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", TYPICAL)
def test_summary_is_three_to_five_sentences_of_the_section(name: str) -> None:
    sentences = split_sentences(texts()[name])
    chosen = sentences_of(lesson(name).summary, texts()[name])

    assert chosen is not None
    assert 3 <= len(chosen) <= 5
    positions = [sentences.index(s) for s in chosen]
    assert positions == sorted(positions), "sentences keep the section's order"


def test_summary_of_a_definition_heavy_section_opens_with_its_key_sentence() -> None:
    assert lesson("07-variations-on-read-table.txt").summary.startswith(
        "The function read.table is the most convenient way to read in a rectangular grid"
    )


# --- Concepts --------------------------------------------------------------------------


@pytest.mark.parametrize("name", TYPICAL)
def test_five_to_eight_concepts_that_are_phrases_of_the_text(name: str) -> None:
    concepts = lesson(name).concepts
    text = flat(texts()[name]).lower()

    assert 5 <= len(concepts) <= 8
    assert len({c.name.casefold() for c in concepts}) == len(concepts)
    for concept in concepts:
        tokens = tokenize(concept.name)
        assert concept.name.lower() in text
        assert 1 <= len(concept.name.split()) <= 4
        assert tokens[0] not in STOPWORDS, concept.name
        assert tokens[-1] not in STOPWORDS, concept.name
        assert not any(token.isdigit() for token in tokens), concept.name
        assert concept.name.casefold() != DOCUMENT.casefold()


@pytest.mark.parametrize("name", ALL)
def test_no_concept_is_a_fragment_or_a_running_header(name: str) -> None:
    for concept in lesson(name).concepts:
        tokens = tokenize(concept.name)
        assert tokens
        assert tokens[0] not in STOPWORDS
        assert tokens[-1] not in STOPWORDS
        assert not re.search(r"\b(?:chapter|section|page)\b", concept.name, re.IGNORECASE)
        assert not re.search(r"[()\[\]=\"“”]", concept.name)


def test_defined_terms_become_concepts_explained_by_their_definition() -> None:
    by_name = {c.name.casefold(): c for c in lesson("29-types-of-connections.txt").concepts}

    assert "pipe" in by_name
    assert by_name["pipe"].explanation.startswith(
        "Pipes are a special form of file that connects to another process"
    )
    read_table = {c.name: c for c in lesson("07-variations-on-read-table.txt").concepts}
    assert read_table["read.table"].explanation.startswith(
        "The function read.table is the most convenient way"
    )


@pytest.mark.parametrize("name", TYPICAL)
def test_explanations_are_sentences_of_the_section_about_the_concept(name: str) -> None:
    for concept in lesson(name).concepts:
        assert made_of_sentences(concept.explanation, texts()[name]), concept.explanation
        assert mentions(concept.explanation, concept.name), concept


# --- Multiple choice -------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_every_mcq_has_four_distinct_choices_and_one_right_answer(name: str) -> None:
    draft = lesson(name)
    names = {c.name for c in draft.concepts}
    for question in mcqs(draft):
        choices = question.choices
        assert question.concept in names
        assert len(choices) == 4
        assert len({c.casefold() for c in choices}) == 4
        assert question.answer_index is not None
        assert 0 <= question.answer_index < 4
        assert choices[question.answer_index] == question.concept
        assert [c.casefold() for c in choices].count(question.concept.casefold()) == 1
        assert question.reference_answer is None


@pytest.mark.parametrize("name", ALL)
def test_mcq_stem_is_a_sentence_with_the_answer_blanked_out(name: str) -> None:
    source = flat(texts()[name])
    for question in mcqs(lesson(name)):
        blanked = stem(question).rstrip("”")
        assert BLANK in blanked
        assert not mentions(blanked, question.concept)
        pattern = re.escape(blanked).replace(re.escape(BLANK), r"[\w.\- ]+?")
        assert re.search(pattern, source), blanked  # the sentence is the section's own


@pytest.mark.parametrize("name", ALL)
def test_distractors_are_other_real_phrases_never_in_the_stem(name: str) -> None:
    own = flat(texts()[name])
    prose = [flat(t) for n, t in texts().items() if n != name and not n.startswith(NOT_PROSE)]
    for question in mcqs(lesson(name)):
        answer = set(tokenize(question.concept))
        for distractor in distractors(question):
            tokens = tokenize(distractor)
            assert tokens[0] not in STOPWORDS, distractor
            assert tokens[-1] not in STOPWORDS, distractor
            assert not mentions(stem(question), distractor), (distractor, question.prompt)
            assert not answer <= set(tokens), (distractor, question.concept)
            assert not set(tokens) <= answer, (distractor, question.concept)
            # In this section, or in another section that is course text (not the
            # acknowledgements or an index).
            in_document = [own, *prose]
            assert any(distractor.lower() in text.lower() for text in in_document), distractor


def test_some_distractors_come_from_the_other_sections() -> None:
    borrowed = [
        distractor
        for name in TYPICAL
        for question in mcqs(lesson(name))
        for distractor in distractors(question)
        if distractor.lower() not in flat(texts()[name]).lower()
    ]
    assert borrowed


def test_a_section_on_its_own_has_no_mcq_without_three_distractors() -> None:
    # 32 words, two or three concepts and no other sections: too few choices for an MCQ.
    draft = build_offline_lesson(section("28-7-connections.txt", others=False))

    assert len(draft.concepts) < 4
    assert mcqs(draft) == []
    assert draft.summary


# --- Short questions and counts --------------------------------------------------------


@pytest.mark.parametrize("name", TYPICAL)
def test_question_counts_for_a_typical_section(name: str) -> None:
    questions = lesson(name).questions
    short = [q for q in questions if q.type == "short"]

    assert 3 <= len(mcqs(lesson(name))) <= 5
    assert 1 <= len(short) <= 3


@pytest.mark.parametrize("name", ALL)
def test_short_questions_have_a_reference_answer_from_the_text(name: str) -> None:
    draft = lesson(name)
    for question in draft.questions:
        if question.type != "short":
            continue
        assert question.concept in {c.name for c in draft.concepts}
        assert question.concept in question.prompt
        assert question.choices == ()
        assert question.answer_index is None
        assert question.reference_answer
        assert made_of_sentences(question.reference_answer, texts()[name])


# --- Determinism, short text, speed ----------------------------------------------------


def test_the_same_section_gives_the_same_lesson() -> None:
    name = "29-types-of-connections.txt"
    assert build_offline_lesson(section(name)) == build_offline_lesson(section(name))


LESSON_AS_JSON = """
import json, sys
from dataclasses import asdict
from pathlib import Path
from ultudy.study.lessons import SectionInput, build_offline_lesson
folder = Path(sys.argv[1])
texts = {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.txt"))}
name = sys.argv[2]
others = tuple(t for n, t in texts.items() if n != name)
lesson = build_offline_lesson(SectionInput(title="s", text=texts[name], other_sections=others))
print(json.dumps(asdict(lesson)))
"""


def test_the_same_lesson_in_another_process_with_another_hash_seed() -> None:
    name = "07-variations-on-read-table.txt"
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", LESSON_AS_JSON, str(SECTIONS), name],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        outputs.append(json.loads(result.stdout))
    assert outputs[0] == outputs[1]
    here = build_offline_lesson(
        SectionInput(
            title="s",
            text=texts()[name],
            other_sections=tuple(t for n, t in texts().items() if n != name),
        )
    )
    assert outputs[0] == json.loads(json.dumps(asdict(here)))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n  ",
        "Photosynthesis converts light.",
        "Osmosis is the movement of water across a membrane. It needs no energy.",
        "1\nChapter 3: Cells 12\n",
    ],
)
def test_short_text_gives_a_summary_and_only_valid_questions(text: str) -> None:
    draft = build_offline_lesson(SectionInput(title="Cells", text=text))

    assert draft.summary
    for question in mcqs(draft):
        assert len(set(question.choices)) == 4


@pytest.mark.parametrize(
    "name", ["15-octave.txt", "16-4-relational-databases.txt", "41-function-and-variable-index.txt"]
)
def test_odd_sections_do_not_break_the_engine(name: str) -> None:
    draft = lesson(name)

    assert draft.summary
    assert "Chapter" not in draft.summary or name.startswith("41")


async def test_engine_works_in_a_thread_and_leaves_the_event_loop_free() -> None:
    engine = OfflineLessonEngine()
    ticks = 0

    async def tick() -> None:  # counts loop turns: none if generate() blocked the loop
        nonlocal ticks
        while True:
            await asyncio.sleep(0)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        draft = await engine.generate(section("17-why-use-a-database.txt"))
    finally:
        ticker.cancel()

    assert engine.name == "offline-v1"
    assert draft == lesson("17-why-use-a-database.txt")
    assert ticks > 0


def chapter_seven() -> SectionInput:
    """Chapter 7 "Connections" as one section: about 2,000 words."""
    names = [n for n in ALL if n[:2] in {"28", "29", "30", "31", "32", "33", "34", "35"}]
    others = tuple(t for n, t in texts().items() if n not in names)
    text = "\n".join(texts()[n] for n in names)
    assert 1800 <= len(text.split()) <= 2300
    return SectionInput(
        title="Connections", text=text, document_title=DOCUMENT, other_sections=others
    )


def test_a_two_thousand_word_section_gives_a_bounded_lesson() -> None:
    """How long it takes is bench/lesson_time.py's to measure; here, what it gives: a long
    section still yields a handful of concepts, each asked about, not one per paragraph."""
    draft = build_offline_lesson(chapter_seven())
    assert 5 <= len(draft.concepts) <= 8
    assert draft.questions
    assert draft.summary
