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

from ultudy.study.grading.bands import Comparison, compare, decide
from ultudy.study.grading.mcq import grade_mcq
from ultudy.study.grading.model import (
    CHAR_WEIGHT,
    GRADER_THRESHOLDS,
    VERDICTS,
    FreeTextGrade,
    FreeTextGrader,
    GraderThresholds,
    Verdict,
)
from ultudy.study.grading.offline import OfflineGrader
from ultudy.study.grading.reading import content_recall, strip_hedges

__all__ = [
    "CHAR_WEIGHT",
    "GRADER_THRESHOLDS",
    "VERDICTS",
    "Comparison",
    "FreeTextGrade",
    "FreeTextGrader",
    "GraderThresholds",
    "OfflineGrader",
    "Verdict",
    "compare",
    "content_recall",
    "decide",
    "grade_mcq",
    "strip_hedges",
]
