"""Check-in evaluation: grade each answer, then update per-concept mastery (BKT)."""

from __future__ import annotations

import uuid
from typing import Any

from ultudy.db.effects import row_for_job
from ultudy.db.models import check_ins
from ultudy.db.study import (
    insert_check_in,
    lesson_questions,
    mastery_for,
    save_mastery,
    set_check_in_mastery,
    update_check_in,
)
from ultudy.errors import JobInputError
from ultudy.jobs.context import JobContext
from ultudy.jobs.processors.common import free_text_grader
from ultudy.study.grading import FreeTextGrade, grade_mcq
from ultudy.study.mastery import DEFAULT_PARAMS, MCQ_PARAMS, bkt_update

VERDICT_CORRECT = {"correct": True, "incorrect": False, "unsure": None}


async def _grade(ctx: JobContext, question: Any, answer: Any) -> FreeTextGrade:
    if question.type == "mcq":
        return grade_mcq(choice=answer, choices=question.choices,
                         answer_index=int(question.answer_index))  # fmt: skip
    grader = free_text_grader(ctx.services)
    return await grader.grade(question=question.prompt, reference=question.reference_answer or "",
                              answer=str(answer))  # fmt: skip


def result_row(question: Any, grade: FreeTextGrade) -> dict[str, Any]:
    row = {
        "question_id": str(question.id), "verdict": grade.verdict,
        "correct": VERDICT_CORRECT[grade.verdict], "score": round(grade.score, 4),
        "feedback": grade.feedback, "concept_id": str(question.concept_id), "type": question.type,
    }  # fmt: skip
    if grade.verdict == "unsure":
        # The learner judges their own answer against the reference (self-assess call).
        row["reference_answer"] = question.reference_answer
    return row


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
        await save_mastery(conn, owner_id, cid, p_known=after[cid],
                           attempts_delta=attempts, correct_delta=correct)  # fmt: skip
    return [
        {"concept_id": str(cid), "name": current[cid].name, "before": round(before[cid], 4),
         "after": round(after[cid], 4)}
        for cid in dict.fromkeys(concept_ids) if cid in current
    ]  # fmt: skip


def _stored(check_in: Any) -> dict[str, Any]:
    """A check-in's result as its row keeps it (the same for every run of its job)."""
    return {"check_in_id": str(check_in.id), "score": check_in.score,
            "results": check_in.results, "mastery": check_in.mastery or []}  # fmt: skip


async def process(ctx: JobContext, data: dict[str, Any]) -> dict[str, Any]:
    lesson_id = uuid.UUID(data["lesson_id"])
    async with ctx.services.db.transaction(ctx.owner_id) as conn:
        # Delivery is at-least-once: a job run again returns what its first run stored.
        if (done := await row_for_job(conn, check_ins, ctx.owner_id, ctx.job_id)) is not None:
            return _stored(done)
        questions = {str(q.id): q for q in await lesson_questions(conn, ctx.owner_id, lesson_id)}
    answers = data["answers"]
    results = []
    for i, item in enumerate(answers, start=1):
        question = questions.get(item["question_id"])
        if question is None:
            raise JobInputError(f"Unknown question id {item['question_id']}")
        await ctx.progress(80 * (i - 1) / len(answers), f"Grading answer {i} of {len(answers)}")
        results.append(result_row(question, await _grade(ctx, question, item["answer"])))
    await ctx.progress(85, "Updating mastery")
    return await _save(ctx, lesson_id, answers, results)


async def _save(
    ctx: JobContext, lesson_id: uuid.UUID, answers: list[Any], results: list[dict[str, Any]]
) -> dict[str, Any]:
    """One transaction: the check-in, keyed by the job, and the mastery it moves. A run that
    finds its job's check-in (written by a concurrent run) moves nothing."""
    async with ctx.services.db.transaction(ctx.owner_id) as conn:
        check_in_id = await insert_check_in(conn, ctx.owner_id, lesson_id, answers, results,
                                            overall_score(results), job_id=ctx.job_id)  # fmt: skip
        if check_in_id is not None:
            mastery = await apply_mastery(conn, ctx.owner_id, results)
            await set_check_in_mastery(conn, check_in_id, mastery)
        stored = await row_for_job(conn, check_ins, ctx.owner_id, ctx.job_id)
    return _stored(stored)


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
    return {"check_in_id": str(check_in.id), "score": score, "results": results,
            "mastery": mastery}  # fmt: skip
