"""Offline free-text grading on the labelled set: 3-band OfflineGrader vs naive token recall.

Run: ``.venv/bin/python bench/grading_accuracy.py`` (no network, about a second).

The set is ``tests/data/grading_pairs.jsonl``: question, reference, answer, the true
verdict (human judgement, "correct" or "incorrect"), kind ("typical" or "adversarial": a
wrong answer that reuses the reference's words) and split ("dev" questions were used to
tune the grader, "test" questions were held out).

Columns: coverage = answers not graded "unsure"; decided accuracy = right verdicts among
the decided ones; adversarial graded correct = adversarial wrong answers graded "correct"
(the worst failure); typical accuracy = decided accuracy on the typical answers; median
time per answer.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ultudy.study.grading import OfflineGrader, Verdict, content_recall

PAIRS = Path(__file__).resolve().parents[1] / "tests" / "data" / "grading_pairs.jsonl"
NAIVE_THRESHOLD = 0.5
ROUNDS = 5

Grade = Callable[[dict[str, str]], Verdict]


@dataclass(frozen=True, kw_only=True)
class Result:
    verdicts: list[Verdict]
    median_ms: float


def offline() -> Grade:
    grader = OfflineGrader()

    def grade(pair: dict[str, str]) -> Verdict:
        return grader.grade_sync(
            question=pair["question"], reference=pair["reference"], answer=pair["answer"]
        ).verdict

    return grade


def naive(pair: dict[str, str]) -> Verdict:
    """Token recall of the reference's content words >= 0.5: correct, else incorrect."""
    recall = content_recall(pair["reference"], pair["answer"])
    return "correct" if recall >= NAIVE_THRESHOLD else "incorrect"


def run(grade: Grade, pairs: list[dict[str, str]]) -> Result:
    grade(pairs[0])  # warm-up
    verdicts: list[Verdict] = []
    times: list[float] = []
    for pair in pairs:
        per_round = []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            verdict = grade(pair)
            per_round.append(time.perf_counter() - started)
        verdicts.append(verdict)
        times.append(statistics.median(per_round))
    return Result(verdicts=verdicts, median_ms=1000 * statistics.median(times))


def ratio(hits: int, total: int) -> str:
    return f"{hits / total:.2f} ({hits}/{total})" if total else "-"


def row(name: str, pairs: list[dict[str, str]], result: Result) -> list[str]:
    both = list(zip(pairs, result.verdicts, strict=True))
    decided = [(p, v) for p, v in both if v != "unsure"]
    right = sum(v == p["verdict"] for p, v in decided)
    adversarial = [v for p, v in both if p["kind"] == "adversarial"]
    typical = [(p, v) for p, v in decided if p["kind"] == "typical"]
    typical_right = sum(v == p["verdict"] for p, v in typical)
    return [
        name,
        ratio(len(decided), len(both)),
        ratio(right, len(decided)),
        f"{adversarial.count('correct')}/{len(adversarial)}",
        ratio(typical_right, len(typical)),
        f"{result.median_ms:.2f}",
    ]


def table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def main() -> None:
    pairs = [json.loads(line) for line in PAIRS.read_text().splitlines() if line.strip()]
    graders = {"OfflineGrader (3 bands)": offline(), f"token recall >= {NAIVE_THRESHOLD}": naive}
    results = {name: run(grade, pairs) for name, grade in graders.items()}
    headers = [
        "grader",
        "coverage",
        "decided accuracy",
        "adversarial graded correct",
        "typical accuracy",
        "median ms/answer",
    ]
    print(f"All {len(pairs)} labelled pairs:\n")
    print(table(headers, [row(name, pairs, result) for name, result in results.items()]))
    for split in ("dev", "test"):
        chosen = [i for i, pair in enumerate(pairs) if pair["split"] == split]
        subset = [pairs[i] for i in chosen]
        rows = [
            row(
                name,
                subset,
                Result(verdicts=[r.verdicts[i] for i in chosen], median_ms=r.median_ms),
            )
            for name, r in results.items()
        ]
        print(f"\nSplit {split!r} ({len(subset)} pairs):\n")
        print(table(headers, rows))
    print("\nOfflineGrader verdicts by style (true verdict: correct / incorrect):\n")
    print(table(["style", "correct", "unsure", "incorrect"], style_rows(pairs, results)))


def style_rows(pairs: list[dict[str, str]], results: dict[str, Result]) -> list[list[str]]:
    verdicts = next(iter(results.values())).verdicts
    rows = []
    for style in dict.fromkeys(pair["style"] for pair in pairs):
        chosen = [v for p, v in zip(pairs, verdicts, strict=True) if p["style"] == style]
        truth = next(p["verdict"] for p in pairs if p["style"] == style)
        rows.append(
            [
                f"{style} ({truth})",
                *(str(chosen.count(v)) for v in ("correct", "unsure", "incorrect")),
            ]
        )
    return rows


if __name__ == "__main__":
    main()
