"""Check-in evaluation: grade each answer, then update per-concept mastery (BKT, in
`services.check_ins`, which the self-assessment route shares)."""

from __future__ import annotations

import uuid
from typing import Any

from ultudy.db.check_ins import insert_check_in, set_check_in_mastery
from ultudy.db.effects import row_for_job
from ultudy.db.models import check_ins
from ultudy.db.study import lesson_questions
from ultudy.errors import JobInputError
from ultudy.services import StudyContext
from ultudy.services.check_ins import apply_mastery, overall_score
from ultudy.study.grading import FreeTextGrade, grade_mcq

VERDICT_CORRECT = {"correct": True, "incorrect": False, "unsure": None}


async def _grade(ctx: StudyContext, question: Any, answer: Any) -> FreeTextGrade:
    if question.type == "mcq":
        return grade_mcq(
            choice=answer, choices=question.choices, answer_index=int(question.answer_index)
        )
    return await ctx.services.engines.grader.grade(
        question=question.prompt, reference=question.reference_answer or "", answer=str(answer)
    )


def result_row(question: Any, grade: FreeTextGrade) -> dict[str, Any]:
    row = {
        "question_id": str(question.id),
        "verdict": grade.verdict,
        "correct": VERDICT_CORRECT[grade.verdict],
        "score": round(grade.score, 4),
        "feedback": grade.feedback,
        "concept_id": str(question.concept_id),
        "type": question.type,
    }
    if grade.verdict == "unsure":
        # The learner judges their own answer against the reference (self-assess call).
        row["reference_answer"] = question.reference_answer
    return row


def _stored(check_in: Any) -> dict[str, Any]:
    """A check-in's result as its row keeps it (the same for every run of its job)."""
    return {
        "check_in_id": str(check_in.id),
        "score": check_in.score,
        "results": check_in.results,
        "mastery": check_in.mastery or [],
    }


async def process(ctx: StudyContext, data: dict[str, Any]) -> dict[str, Any]:
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
    ctx: StudyContext,
    lesson_id: uuid.UUID,
    answers: list[Any],
    results: list[dict[str, Any]],
) -> dict[str, Any]:
    """One transaction: the check-in, keyed by the job, and the mastery it moves. A run that
    finds its job's check-in (written by a concurrent run) moves nothing."""
    async with ctx.services.db.transaction(ctx.owner_id) as conn:
        check_in_id = await insert_check_in(
            conn,
            ctx.owner_id,
            lesson_id,
            answers,
            results,
            overall_score(results),
            job_id=ctx.job_id,
        )
        if check_in_id is not None:
            mastery = await apply_mastery(conn, ctx.owner_id, results)
            await set_check_in_mastery(conn, check_in_id, mastery)
        stored = await row_for_job(conn, check_ins, ctx.owner_id, ctx.job_id)
    return _stored(stored)
