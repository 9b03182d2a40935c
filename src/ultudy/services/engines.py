"""The engines the processors use (PDF reading, lessons, grading), chosen by settings.

Each is built on first use and kept. The study modules behind them pull in numpy,
scikit-learn and networkx, so they are imported at that first use, not with this module:
a process that only serves the API and never grades imports none of them.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from ultudy.config import Settings

if TYPE_CHECKING:
    from ultudy.study.grading import FreeTextGrader
    from ultudy.study.lessons import LessonEngine
    from ultudy.study.llm import LLMClient, LLMPageReader
    from ultudy.study.pdf import IsolatedPdfReader


class Engines:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def llm(self) -> LLMClient | None:
        """The configured model client; None when offline."""
        from ultudy.study.llm import make_llm_client

        s = self.settings
        return make_llm_client(
            provider=s.llm_provider,
            base_url=s.llm_base_url,
            api_key=s.llm_api_key,
            model=s.llm_model,
        )

    @cached_property
    def lesson_engine(self) -> LessonEngine:
        from ultudy.study.lessons import OfflineLessonEngine
        from ultudy.study.llm import LLMLessonEngine

        return OfflineLessonEngine() if self.llm is None else LLMLessonEngine(self.llm)

    @cached_property
    def grader(self) -> FreeTextGrader:
        from ultudy.study.grading import OfflineGrader
        from ultudy.study.llm import LLMGrader

        return OfflineGrader() if self.llm is None else LLMGrader(self.llm)

    def page_reader(self) -> LLMPageReader | None:
        """A vision-capable model for pages without a text layer; None when offline."""
        from ultudy.study.llm import LLMPageReader

        return None if self.llm is None else LLMPageReader(self.llm)

    def pdf_reader(self, path: str) -> IsolatedPdfReader:
        """A reader for one job's PDF, in child processes under the ULTUDY_PDF_* caps."""
        from ultudy.study.pdf import IsolatedPdfReader, PdfLimits

        s = self.settings
        limits = PdfLimits(
            max_pages=s.pdf_max_pages,
            max_chars_per_page=s.pdf_max_chars_per_page,
            max_chars=s.pdf_max_chars,
            max_render_pixels=s.pdf_max_render_pixels,
            time_limit_s=s.pdf_time_limit_s,
            memory_limit_mb=s.pdf_memory_limit_mb,
        )
        return IsolatedPdfReader(path, limits)
