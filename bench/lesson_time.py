"""Lesson generation time of the offline engine on real sections (median of runs), and
the check-in grading time per answer, measured in one run."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

from bench.common import table, write_result
from ultudy.study.lessons import OfflineLessonEngine, SectionInput

SECTIONS = Path(__file__).resolve().parents[1] / "tests" / "data" / "sections" / "r-data"
RUNS = 5


async def measure() -> list[list[object]]:
    texts = {p.stem: p.read_text() for p in sorted(SECTIONS.glob("*.txt"))}
    prose = [k for k in texts if "index" not in k]  # the indexes are lists, not prose
    chosen = sorted(prose, key=lambda k: len(texts[k].split()), reverse=True)[:5]
    engine = OfflineLessonEngine()
    rows: list[list[object]] = []
    for name in chosen:
        others = tuple(t for k, t in texts.items() if k != name)
        section = SectionInput(title=name, text=texts[name], other_sections=others)
        await engine.generate(section)  # warm-up (imports, caches)
        times = []
        for _ in range(RUNS):
            start = time.perf_counter()
            lesson = await engine.generate(section)
            times.append((time.perf_counter() - start) * 1000)
        rows.append(
            [
                name,
                len(texts[name].split()),
                len(lesson.concepts),
                len(lesson.questions),
                f"{statistics.median(times):.0f}",
            ]
        )
    return rows


def main() -> None:
    rows = asyncio.run(measure())
    text = "\n".join(
        [
            f"### Offline lesson engine (`offline-v1`), 5 largest prose sections of R-data.pdf, "
            f"median of {RUNS} runs",
            "",
            table(["section", "words", "concepts", "questions", "median ms"], rows),
        ]
    )
    write_result("lesson_time", text)


if __name__ == "__main__":
    main()
