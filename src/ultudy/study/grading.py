"""Grading check-in answers: exact multiple choice, and an offline free-text grader.

Multiple choice is graded exactly (`grade_mcq`). Free text is graded by a language model
when one is configured; otherwise by `OfflineGrader`, which compares the answer with the
question's reference answer using words only: no model, no network.

Word overlap (and even sentence embeddings) separates typical answers well, but it is at
chance on wrong answers that reuse the reference's words: "... is *not* true", "increases"
for "decreases", "A causes B" for "B causes A", "5%" for "95%". So the offline grader
answers in three bands and does not pretend:

* ``correct``: the answer covers the reference's key content words and nothing hints that
  the meaning changed;
* ``unsure``: the answer overlaps the reference, but only in part, or with a sign that the
  meaning may have changed: a word negated in one text and not in the other, an antonym
  of one of the reference's words, a number the reference does not have, key terms in
  swapped roles, or the reference sentence with some content words replaced or moved.
  The app then shows the reference answer and the learner judges their own answer;
* ``incorrect``: empty, "I don't know", off-topic, or too little in common.

The overlap score is the recall of the reference's key content words (words of the
question need not be repeated), blended with a character n-gram cosine that forgives
misspellings (scikit-learn's "char_wb" 2-4-gram sublinear TF cosine, computed directly:
fitting a vectorizer for two strings took 4 of the 5 ms per answer). Words are
lower-cased and lightly suffix-stripped. The band
limits are `GRADER_THRESHOLDS`. On the labelled set in ``tests/data/grading_pairs.jsonl``
no wrong answer that reuses the reference's words is graded correct; the price is that
about half of all answers (most paraphrases and terse answers) come back ``unsure``.
"""

from __future__ import annotations

import difflib
import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

logger = logging.getLogger(__name__)

Verdict = Literal["correct", "unsure", "incorrect"]
VERDICTS: tuple[Verdict, ...] = ("correct", "unsure", "incorrect")


@dataclass(frozen=True, kw_only=True)
class FreeTextGrade:
    """One graded answer.

    `score` in [0, 1] is how well the answer matches (1.0 or 0.0 for multiple choice; the
    overlap score for the offline grader); `verdict` is the decision, and `feedback` is
    shown to the learner.
    """

    verdict: Verdict
    score: float
    feedback: str

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, not {self.verdict!r}")
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score must be in [0, 1], not {self.score!r}")


class FreeTextGrader(Protocol):
    """Grades a free-text answer against the question's reference answer."""

    async def grade(self, *, question: str, reference: str, answer: str) -> FreeTextGrade: ...


# ---------------------------------------------------------------------------------------
# Multiple choice


def _normalized(text: str) -> str:
    return " ".join(text.split()).casefold()


def _choice_index(choice: str | int, choices: Sequence[str], answer_index: int) -> int | None:
    """The index the learner picked, from an index or a choice's text (or its number)."""
    if isinstance(choice, bool):
        return None
    if isinstance(choice, int):
        return choice if 0 <= choice < len(choices) else None
    wanted = _normalized(str(choice))
    if wanted == _normalized(choices[answer_index]):
        return answer_index
    for index, text in enumerate(choices):
        if _normalized(text) == wanted:
            return index
    if wanted.isdigit() and int(wanted) < len(choices):
        return int(wanted)
    return None


def grade_mcq(*, choice: str | int, choices: Sequence[str], answer_index: int) -> FreeTextGrade:
    """Grade a multiple choice answer exactly.

    `choice` is the index of the picked choice or its text (compared regardless of case
    and whitespace). A wrong or unknown choice is ``incorrect`` and the feedback names the
    right answer. Raises `ValueError` if `answer_index` is not an index of `choices`.
    """
    if not 0 <= answer_index < len(choices):
        raise ValueError(f"answer_index {answer_index} is outside the {len(choices)} choices")
    right = choices[answer_index]
    picked = _choice_index(choice, choices, answer_index)
    if picked == answer_index:
        return FreeTextGrade(verdict="correct", score=1.0, feedback=f'Correct: "{right}".')
    if picked is None:
        feedback = f'"{choice}" is not one of the choices. The right answer is "{right}".'
    else:
        feedback = f'Not quite: you chose "{choices[picked]}". The right answer is "{right}".'
    return FreeTextGrade(verdict="incorrect", score=0.0, feedback=feedback)


# ---------------------------------------------------------------------------------------
# Free text: thresholds


@dataclass(frozen=True, kw_only=True)
class GraderThresholds:
    """Band limits of `OfflineGrader` (scores and similarities are in [0, 1])."""

    correct: float = 0.7
    """Overlap score from which an answer with no change-of-meaning signal is correct."""
    incorrect: float = 0.35
    """Overlap score below which an answer is incorrect, unless it is a partial answer."""
    partial_precision: float = 0.75
    """A low-scoring answer that has a key word, and of whose content words at least this
    fraction are in the reference or question, is partial: unsure, not incorrect."""
    short_answer: int = 3
    """An answer with at most this many content words is short (terse)..."""
    short_precision: float = 0.5
    """...and for it `partial_precision` is this ("Making ATP." for "... produce ATP")."""
    near_copy: float = 0.5
    """Word-sequence similarity from which an answer counts as the reference sentence
    edited: a reference word put in the place of another is then a change-of-meaning
    signal ("right" for "left", "glucose" for "ATP")."""
    moved_copy: float = 0.7
    """Similarity from which a key term moved far from its place is a signal."""
    close_copy: float = 0.8
    """Similarity from which a content word replaced by a new word is a signal ("tuple"
    for "list"). Lower, and synonyms in restated answers would be flagged."""


GRADER_THRESHOLDS = GraderThresholds()

CHAR_WEIGHT = 0.2
"""Weight of the character n-gram cosine in the overlap score (the rest is key recall)."""

# ---------------------------------------------------------------------------------------
# Free text: words

_WORD_RE = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")
_NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")

_STOPWORDS: frozenset[str] = frozenset(
    """
    a about above across actually after again all almost along also although always am
    among an and any anything are around as at basically be became because become been
    being both but by can could did do does doing done during each either else etc even
    every example for from further get gets got had has have having he her here him his
    how however i ie eg if in including into is it its itself just kind like made may me
    might more most much must my of often on once one only onto or other our out own per
    quite rather really said same say says several shall she should simply since so some
    something such than that the their them then there therefore these they thing things
    this those though through thus to too toward towards until up upon us very via was we
    were what whatever when whenever where whereas whether which while who whom whose
    why will with within would yet you your
    """.split()
)
"""Function words and fillers (not stemmed). Negations are apart, in `_NEGATIONS`."""

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

_SUFFIXES = (
    "ments", "ment", "ness", "ingly", "ings", "ing", "ions", "ion", "edly", "ies", "ied",
    "ed", "es", "ly", "s", "e",
)  # fmt: skip


def _stem(word: str) -> str:
    """Light suffix stripping: "increases", "increased", "increasing" -> "increas"."""
    word = word.removesuffix("'s")
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


def _number(word: str) -> str | None:
    """ "four" -> "4", "0.50" -> "0.5"; None for a word that is not a number."""
    if word in _NUMBER_WORDS:
        return _NUMBER_WORDS[word]
    if _NUMBER_RE.fullmatch(word):
        value = float(word)
        return str(int(value)) if value.is_integer() else repr(value)
    return None


def _words(text: str) -> list[str]:
    return _WORD_RE.findall(text.lower().replace("’", "'"))


def _token_stem(word: str) -> str:
    """A word's stem; every negation is "not", numbers are normalized."""
    if word in _NEGATIONS or word.endswith("n't"):
        return "not"
    if word in _STOPWORDS:
        return word
    return _number(word) or _stem(word)


def _is_content(stem: str) -> bool:
    return stem != "not" and stem not in _STOPWORDS


def _antonym_pairs() -> frozenset[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for item in _ANTONYMS_TEXT.split():
        first, second = (_token_stem(word) for word in item.split("/"))
        pairs.update({(first, second), (second, first)})
    return frozenset(pairs)


_ANTONYMS = _antonym_pairs()


# ---------------------------------------------------------------------------------------
# Free text: one text


@dataclass(frozen=True, kw_only=True)
class _Text:
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
            following = [s for s in stems[index + 1 : index + 4] if _is_content(s)]
            scope.update(following[:1])
    return scope


def _split_prefix(stem: str, vocabulary: frozenset[str]) -> str | None:
    """ "unbias" -> "bias" when "bias" is a word of either text (a negating prefix)."""
    for prefix in _NEGATING_PREFIXES:
        root = stem.removeprefix(prefix)
        if root != stem and len(root) >= 4 and root in vocabulary:
            return root
    return None


def _analyse(text: str, vocabulary: frozenset[str] = frozenset()) -> _Text:
    words = [word for word in _words(text) if word not in ("a", "i")]
    stems = [_token_stem(word) for word in words]
    negated = _negated_scope(stems)
    for index, stem in enumerate(stems):
        root = _split_prefix(stem, vocabulary) if _is_content(stem) else None
        if root is not None:
            stems[index] = root
            negated.add(root)
    surface: dict[str, str] = {}
    for word, stem in zip(words, stems, strict=True):
        surface.setdefault(stem, word)
    return _Text(
        words=tuple(words),
        stems=tuple(stems),
        surface=surface,
        content=frozenset(stem for stem in stems if _is_content(stem)),
        negated=frozenset(negated),
        numbers=frozenset(n for word in words if (n := _number(word)) is not None),
        digits=frozenset(n for w in words if w[0].isdigit() and (n := _number(w)) is not None),
    )


def _vocabulary(*texts: str) -> frozenset[str]:
    return frozenset(_token_stem(word) for text in texts for word in _words(text))


def strip_hedges(answer: str) -> str:
    """The answer without "I don't know", "not sure", "I think"...; "" for "pass" etc."""
    if _normalized(answer).strip(" .!?-") in _NON_ANSWERS:
        return ""
    return _HEDGES_RE.sub(" ", answer.lower().replace("’", "'"))


def content_recall(reference: str, answer: str) -> float:
    """Fraction of the reference's content words (stemmed) that the answer has.

    This alone is the naive token-recall grader that the tests and the benchmark compare
    `OfflineGrader` with.
    """
    ref, ans = _analyse(reference), _analyse(answer)
    return len(ref.content & ans.content) / len(ref.content) if ref.content else 0.0


# ---------------------------------------------------------------------------------------
# Free text: signs that the meaning changed


def _quoted(words: Iterable[str]) -> str:
    return ", ".join(f'"{word}"' for word in words)


def _surface(text: _Text, stems: Iterable[str]) -> list[str]:
    return [text.surface[stem] for stem in sorted(stems, key=text.stems.index)]


def _negation_signal(ref: _Text, ans: _Text) -> str | None:
    """A shared word negated in one text only: "is not true" for "is true"."""
    flipped = (ref.negated ^ ans.negated) & ref.content & ans.content
    if flipped:
        word = _surface(ans, flipped)[0]
        return f'it negates "{word}" where the reference answer does not, or the other way round'
    return None


def _antonym_signal(ref: _Text, ans: _Text) -> str | None:
    """An antonym of a reference word that the reference itself does not use."""
    for mine in sorted(set(ans.stems) - set(ref.stems), key=ans.stems.index):
        for theirs in sorted(set(ref.stems), key=ref.stems.index):
            if (mine, theirs) in _ANTONYMS:
                return (
                    f'it says "{ans.surface[mine]}" where the reference answer says '
                    f'"{ref.surface[theirs]}"'
                )
    return None


def _number_signal(ref: _Text, ans: _Text) -> str | None:
    """A number the reference does not have (number words count if the reference has any)."""
    extra = ans.digits - ref.numbers
    if ref.numbers:
        extra |= ans.numbers - ref.numbers
    if extra:
        return f"it has a number the reference answer does not have ({', '.join(sorted(extra))})"
    return None


def _unique_positions(text: _Text) -> dict[str, int]:
    """The position, among the content words, of each content stem that occurs once."""
    content = [stem for stem in text.stems if _is_content(stem)]
    return {stem: index for index, stem in enumerate(content) if content.count(stem) == 1}


def _passive(text: _Text, stem: str) -> bool:
    """Passive voice, "(is) influenced by": a participle followed by "by"."""
    index = text.stems.index(stem)
    participle = text.words[index].endswith(("ed", "en"))
    return participle and text.stems[index + 1 : index + 2] == ("by",)


_WINDOW = 5
"""How far apart (in content words) two swapped terms and their anchor may be."""


def _flipped_around(anchor: str, ref: dict[str, int], ans: dict[str, int]) -> bool:
    """A nearby term moved from before the anchor to after it, and another the other way."""
    near = [t for t in ref if t in ans and t != anchor and abs(ref[t] - ref[anchor]) <= _WINDOW]
    before = [t for t in near if ref[t] < ref[anchor] and ans[t] > ans[anchor]]
    after = [t for t in near if ref[t] > ref[anchor] and ans[t] < ans[anchor]]
    return bool(before and after)


def _order_signal(ref: _Text, ans: _Text) -> str | None:
    """ "A causes B" for "B causes A", or a switch to the passive without the swap."""
    ref_pos, ans_pos = _unique_positions(ref), _unique_positions(ans)
    for anchor in sorted(set(ref_pos) & set(ans_pos), key=ref_pos.__getitem__):
        flipped = _flipped_around(anchor, ref_pos, ans_pos)
        if flipped != (_passive(ref, anchor) != _passive(ans, anchor)):
            return (
                f'the terms around "{ans.surface[anchor]}" are in a different order or role '
                "than in the reference answer"
            )
    return None


_MAX_REPLACED = 3
"""Replacing more content words than this at once is rewording, not a swapped term."""


def _replacement(
    matcher: difflib.SequenceMatcher[str], ref: _Text, ans: _Text, *, close: bool
) -> str | None:
    """Reference words replaced by another reference word ("right" for "left") or, in a
    close copy, by a new word ("tuple" for "list")."""
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        old = {stem for stem in ref.stems[i1:i2] if _is_content(stem)}
        new = {stem for stem in ans.stems[j1:j2] if _is_content(stem)}
        if tag != "replace" or not old or not new or max(len(old), len(new)) > _MAX_REPLACED:
            continue
        moved = (new & ref.content) - old
        novel = (new - ref.content) and (old - ans.content)
        if moved or (close and novel):
            return (
                f"it follows the reference answer but says {_quoted(_surface(ans, new))} "
                f"where the reference says {_quoted(_surface(ref, old))}"
            )
    return None


_FAR = 3
"""How many shared terms a term has to jump over to count as moved."""


def _longest_increasing(values: Sequence[int]) -> set[int]:
    """The indexes of a longest increasing subsequence of `values`."""
    chains: list[list[int]] = []
    for index, value in enumerate(values):
        longest: list[int] = []
        for chain in chains:
            if values[chain[-1]] < value and len(chain) > len(longest):
                longest = chain
        chains.append([*longest, index])
    best: list[int] = max(chains, key=len) if chains else []
    return set(best)


def _moved(ref: _Text, ans: _Text) -> str | None:
    """A key term moved far from its place in the reference: likely a different role."""
    ref_pos, ans_pos = _unique_positions(ref), _unique_positions(ans)
    shared = sorted(set(ref_pos) & set(ans_pos), key=ref_pos.__getitem__)
    in_answer = sorted(shared, key=ans_pos.__getitem__)
    kept = _longest_increasing([in_answer.index(term) for term in shared])
    for rank, term in enumerate(shared):
        if rank not in kept and abs(in_answer.index(term) - rank) >= _FAR:
            return f'it follows the reference answer but puts "{ans.surface[term]}" elsewhere'
    return None


def _edit_signals(ref: _Text, ans: _Text, thresholds: GraderThresholds) -> list[str | None]:
    """For an answer that is the reference sentence edited: what the edit changed."""
    matcher = difflib.SequenceMatcher(None, ref.stems, ans.stems, autojunk=False)
    ratio = matcher.ratio()
    if ratio < thresholds.near_copy:
        return []
    moved = _moved(ref, ans) if ratio >= thresholds.moved_copy else None
    return [_replacement(matcher, ref, ans, close=ratio >= thresholds.close_copy), moved]


def _signals(ref: _Text, ans: _Text, thresholds: GraderThresholds) -> tuple[str, ...]:
    found = (
        _negation_signal(ref, ans),
        _antonym_signal(ref, ans),
        _number_signal(ref, ans),
        _order_signal(ref, ans),
        *_edit_signals(ref, ans, thresholds),
    )
    return tuple(dict.fromkeys(signal for signal in found if signal))


# ---------------------------------------------------------------------------------------
# Free text: comparing and deciding


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """What the offline grader measured for one answer (for the bands, tests, benches)."""

    recall: float
    """Fraction of the reference's key content words (those not in the question) that the
    answer has; all its content words if the question has them all."""
    precision: float
    """Fraction of the answer's content words that are in the reference or the question."""
    char_cosine: float
    """Cosine of character 2-4-gram term frequencies of answer and reference."""
    score: float
    """The overlap score the bands are cut on."""
    signals: tuple[str, ...]
    """Learner-facing reasons to doubt that the answer means what the reference means."""
    missing: tuple[str, ...]
    """Key words of the reference that the answer does not have."""
    shared_key: int
    """How many key words the answer has."""
    answer_words: int
    """How many different content words the answer has."""


def _char_ngrams(text: str) -> Counter[str]:
    """Character 2-4-grams inside space-padded words (scikit-learn's "char_wb")."""
    grams: Counter[str] = Counter()
    for word in text.lower().split():
        padded = f" {word} "
        for n in range(2, min(4, len(padded)) + 1):
            grams.update(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams


def _char_cosine(reference: str, answer: str) -> float:
    """Cosine of the answer's and reference's character n-grams (log-scaled counts)."""
    first, second = (
        {gram: 1 + math.log(count) for gram, count in _char_ngrams(text).items()}
        for text in (reference, answer)
    )
    dot = sum(weight * second.get(gram, 0.0) for gram, weight in first.items())
    norms = math.sqrt(sum(w * w for w in first.values()) * sum(w * w for w in second.values()))
    return dot / norms if norms else 0.0


def compare(
    *, question: str, reference: str, answer: str, thresholds: GraderThresholds = GRADER_THRESHOLDS
) -> Comparison:
    """Measure an answer (hedges already stripped) against the reference answer."""
    vocabulary = _vocabulary(reference, answer)
    ref, ans = _analyse(reference, vocabulary), _analyse(answer, vocabulary)
    asked = _analyse(question).content
    key = (ref.content - asked) or ref.content
    shared_key = key & ans.content
    recall = len(shared_key) / len(key) if key else 0.0
    known = ref.content | asked
    precision = len(ans.content & known) / len(ans.content) if ans.content else 0.0
    cosine = _char_cosine(reference, answer)
    return Comparison(
        recall=recall,
        precision=precision,
        char_cosine=cosine,
        score=min(1.0, max(0.0, (1 - CHAR_WEIGHT) * recall + CHAR_WEIGHT * cosine)),
        signals=_signals(ref, ans, thresholds),
        missing=tuple(_surface(ref, key - ans.content)),
        shared_key=len(shared_key),
        answer_words=len(ans.content),
    )


_SELF_JUDGE = "Compare it with the reference answer and judge it yourself."


def _correct(comparison: Comparison) -> FreeTextGrade:
    feedback = "Correct: your answer covers the key points of the reference answer."
    if comparison.missing:
        feedback += f" You could also mention {_quoted(comparison.missing[:3])}."
    return FreeTextGrade(verdict="correct", score=comparison.score, feedback=feedback)


def _unsure(comparison: Comparison) -> FreeTextGrade:
    if comparison.signals:
        reason = (
            "Your answer uses the words of the reference answer, but it may change the "
            f"meaning: {comparison.signals[0]}."
        )
    else:
        reason = "Your answer matches part of the reference answer, but not enough to be sure"
        if comparison.missing:
            reason += f" (it does not mention {_quoted(comparison.missing[:3])})"
        reason += "."
    return FreeTextGrade(
        verdict="unsure", score=comparison.score, feedback=f"{reason} {_SELF_JUDGE}"
    )


def _incorrect(comparison: Comparison) -> FreeTextGrade:
    feedback = "Not quite: your answer does not match the key points of the reference answer"
    if comparison.missing:
        feedback += f" (it does not mention {_quoted(comparison.missing[:4])})"
    return FreeTextGrade(verdict="incorrect", score=comparison.score, feedback=f"{feedback}.")


def decide(
    comparison: Comparison, thresholds: GraderThresholds = GRADER_THRESHOLDS
) -> FreeTextGrade:
    """The band for a measured answer."""
    if comparison.score >= thresholds.correct:
        return _unsure(comparison) if comparison.signals else _correct(comparison)
    if comparison.score >= thresholds.incorrect:
        return _unsure(comparison)
    short = comparison.answer_words <= thresholds.short_answer
    floor = thresholds.short_precision if short else thresholds.partial_precision
    partial = comparison.shared_key > 0 and comparison.precision >= floor
    return _unsure(comparison) if partial else _incorrect(comparison)


_NO_REFERENCE = FreeTextGrade(
    verdict="unsure",
    score=0.0,
    feedback="This question has no reference answer to compare with. Judge your answer yourself.",
)
_NO_ANSWER = FreeTextGrade(
    verdict="incorrect",
    score=0.0,
    feedback="No answer given. Read the reference answer, then try this question again later.",
)


class OfflineGrader:
    """`FreeTextGrader` without a language model: word overlap in three bands."""

    def __init__(self, thresholds: GraderThresholds = GRADER_THRESHOLDS) -> None:
        self.thresholds = thresholds

    def grade_sync(self, *, question: str, reference: str, answer: str) -> FreeTextGrade:
        """Grade an answer (one or two milliseconds)."""
        if not _analyse(reference).content:
            return _NO_REFERENCE
        cleaned = strip_hedges(answer)
        if not _analyse(cleaned).content:
            return _NO_ANSWER
        comparison = compare(
            question=question, reference=reference, answer=cleaned, thresholds=self.thresholds
        )
        grade = decide(comparison, self.thresholds)
        logger.debug(
            "offline grade %s, score %.2f, signals %s",
            grade.verdict,
            grade.score,
            comparison.signals,
        )
        return grade

    async def grade(self, *, question: str, reference: str, answer: str) -> FreeTextGrade:
        return self.grade_sync(question=question, reference=reference, answer=answer)
