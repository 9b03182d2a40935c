"""Per-concept mastery: Bayesian Knowledge Tracing (Corbett & Anderson, 1995).

Mastery of a concept is the probability ``p = P(L)`` that the learner knows it. Each
graded answer about the concept updates it in two steps.

1. Evidence (Bayes' rule), with slip ``S = P(wrong | known)`` and guess
   ``G = P(right | not known)``::

       correct:    P(L | right) = p (1 - S) / (p (1 - S) + (1 - p) G)
       incorrect:  P(L | wrong) = p S / (p S + (1 - p) (1 - G))

2. Learning: the answer was also a chance to learn, with ``T = P(transit)``::

       p' = P(L | answer) + (1 - P(L | answer)) T

Parameters (`BKTParams`, injected; the defaults are the usual textbook values):

============  =======  ============================================================
parameter     default  meaning
============  =======  ============================================================
``p_init``    0.2      ``P(L0)``: mastery of a concept never practised
``p_transit`` 0.15     ``P(T)``: chance to learn the concept at each answer
``p_slip``    0.1      ``P(S)``: a learner who knows it still answers wrong
``p_guess``   0.2      ``P(G)``: right without knowing; free text (`DEFAULT_PARAMS`)
``p_guess``   0.25     the same for 4-choice multiple choice (`MCQ_PARAMS`)
============  =======  ============================================================

From ``p = 0.2``: a right free-text answer gives 0.6, a wrong one 0.176; a right multiple
choice answer gives 0.553. A right answer always raises mastery. A wrong one lowers it
unless mastery is already very low (below about 0.17 with the defaults): there the
learning step outweighs the evidence, as BKT assumes every attempt can teach. An answer
graded ``unsure`` and not yet judged by the learner (``None``) leaves mastery unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class BKTParams:
    """The four Bayesian Knowledge Tracing probabilities (see the module docstring)."""

    p_init: float = 0.2
    p_transit: float = 0.15
    p_slip: float = 0.1
    p_guess: float = 0.2

    def __post_init__(self) -> None:
        if not 0.0 <= self.p_init <= 1.0:
            raise ValueError(f"p_init must be in [0, 1], not {self.p_init}")
        for name in ("p_transit", "p_slip", "p_guess"):
            value = getattr(self, name)
            if not 0.0 < value < 1.0:
                raise ValueError(f"{name} must be in (0, 1), not {value}")
        if self.p_slip + self.p_guess >= 1.0:
            raise ValueError("p_slip + p_guess must be < 1, or a right answer would be no evidence")


DEFAULT_PARAMS = BKTParams()
"""For free-text answers."""

MCQ_PARAMS = BKTParams(p_guess=0.25)
"""For multiple choice with four choices: a blind guess is right one time in four."""


def _posterior(p_known: float, *, correct: bool, params: BKTParams) -> float:
    if correct:
        known = p_known * (1 - params.p_slip)
        unknown = (1 - p_known) * params.p_guess
    else:
        known = p_known * params.p_slip
        unknown = (1 - p_known) * (1 - params.p_guess)
    return known / (known + unknown)


def bkt_update(p_known: float, *, correct: bool, params: BKTParams = DEFAULT_PARAMS) -> float:
    """Mastery after one graded answer: Bayes' rule on the evidence, then learning."""
    if not 0.0 <= p_known <= 1.0:
        raise ValueError(f"p_known must be in [0, 1], not {p_known}")
    posterior = _posterior(p_known, correct=correct, params=params)
    return posterior + (1 - posterior) * params.p_transit


def apply_answers(
    p_known: float, outcomes: Sequence[bool | None], *, params: BKTParams = DEFAULT_PARAMS
) -> float:
    """Mastery after several answers in order; ``None`` (unsure, not judged) is skipped."""
    for outcome in outcomes:
        if outcome is not None:
            p_known = bkt_update(p_known, correct=outcome, params=params)
    return p_known
