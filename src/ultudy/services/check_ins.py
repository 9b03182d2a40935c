"""Check-in results and mastery: what the check-in processor and the self-assessment
route share. An answer moves its concept's mastery (Bayesian Knowledge Tracing) once it is
decided, by the grader or, for an `unsure` one, by the learner."""

from __future__ import annotations

import uuid
from typing import Any

from ultudy.db.check_ins import mastery_for, save_mastery, update_check_in
from ultudy.errors import JobInputError
from ultudy.study.mastery import DEFAULT_PARAMS, MCQ_PARAMS, bkt_update


def overall_score(results: list[dict[str, Any]]) -> float:
    """The mean over decided answers: an `unsure` one counts once the learner judged it."""
    decided = [1.0 if r["correct"] else 0.0 for r in results if r["correct"] is not None]
    return round(sum(decided) / len(decided), 4) if decided else 0.0


async def apply_mastery(
    conn: Any, owner_id: str, results: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Update BKT per concept from each decided answer; report before -> after."""
    concept_ids = [uuid.UUID(r["concept_id"]) for r in results]
    current = await mastery_for(conn, owner_id, concept_ids)
    before = {cid: row.p_known for cid, row in current.items()}
    after = dict(before)
    counts: dict[uuid.UUID, list[int]] = {}
    for r in results:
        cid = uuid.UUID(r["concept_id"])
        if r["correct"] is None or cid not in after:
            continue
        params = MCQ_PARAMS if r["type"] == "mcq" else DEFAULT_PARAMS
        after[cid] = bkt_update(after[cid], correct=bool(r["correct"]), params=params)
        tally = counts.setdefault(cid, [0, 0])
        tally[0] += 1
        tally[1] += int(bool(r["correct"]))
    for cid, (attempts, correct) in counts.items():
        await save_mastery(
            conn, owner_id, cid, p_known=after[cid], attempts_delta=attempts, correct_delta=correct
        )
    return [
        {
            "concept_id": str(cid),
            "name": current[cid].name,
            "before": round(before[cid], 4),
            "after": round(after[cid], 4),
        }
        for cid in dict.fromkeys(concept_ids)
        if cid in current
    ]


async def self_assess(
    conn: Any, owner_id: str, check_in: Any, question_id: str, correct: bool
) -> dict[str, Any]:
    """Record the learner's own judgement of an `unsure` answer and update mastery."""
    results = [dict(r) for r in check_in.results]
    row = next((r for r in results if r["question_id"] == question_id), None)
    if row is None:
        raise JobInputError("That question is not part of this check-in")
    if row["verdict"] != "unsure" or row.get("self_assessed"):
        raise JobInputError("Only an answer graded 'unsure' can be judged, and only once")
    row.update(correct=correct, score=1.0 if correct else 0.0, self_assessed=True)
    mastery = await apply_mastery(conn, owner_id, [row])
    score = overall_score(results)
    await update_check_in(conn, check_in.id, results, score)
    return {"check_in_id": str(check_in.id), "score": score, "results": results, "mastery": mastery}
