"""What BullMQ's tools are given of a job: the result summary and the client names."""

from __future__ import annotations

import base64

from ultudy.jobs.mirror import RETURNVALUE_MAX_CHARS, node_client_name, result_summary


def test_a_small_result_goes_whole_into_returnvalue() -> None:
    result = {"document_id": "d1", "sections": [1, 2]}
    assert result_summary("completed", result) == {"status": "completed", "result": result}
    assert result_summary("cancelled", None) == {"status": "cancelled"}


def test_a_large_result_keeps_its_scalars_and_the_sizes_of_the_rest() -> None:
    result = {
        "lesson_id": "l1",
        "cached": False,
        "score": 0.5,
        "summary": "x" * 5000,
        "questions": [{"q": "y" * 100}] * 30,
        "mastery": {"a": 1, "b": 2},
    }
    summary = result_summary("completed", result)
    assert summary == {
        "status": "completed",
        "result": {
            "lesson_id": "l1",
            "cached": False,
            "score": 0.5,
            "summary": "x" * 200,
            "questions": "<30 items>",
            "mastery": "<2 keys>",
        },
        "truncated": True,
    }
    assert len(str(summary)) < RETURNVALUE_MAX_CHARS


def test_client_names_are_node_bullmqs() -> None:
    encoded = base64.b64encode(b"lesson-generation").decode()
    assert node_client_name("bull", "lesson-generation") == f"bull:{encoded}"
    assert node_client_name("u", "lesson-generation", "w1") == f"u:{encoded}:w:w1"
