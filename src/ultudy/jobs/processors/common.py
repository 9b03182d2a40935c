"""What the processors share: the storage and the engines chosen by settings, built once
per process and kept on the Services object."""

from __future__ import annotations

from typing import Any, TypeVar

from ultudy.jobs.context import Services
from ultudy.study.grading import FreeTextGrader, OfflineGrader
from ultudy.study.lessons import LessonEngine, OfflineLessonEngine
from ultudy.study.llm import LLMGrader, LLMLessonEngine, LLMPageReader, make_llm_client
from ultudy.study.pdf import IsolatedPdfReader, PdfLimits
from ultudy.study.storage import LocalStorage, Storage

T = TypeVar("T")


def _cached(services: Services, key: str, build: Any) -> Any:
    if key not in services.extras:
        services.extras[key] = build()
    return services.extras[key]


def storage(services: Services) -> Storage:
    root = services.settings.data_dir.resolve() / "uploads"
    result: Storage = _cached(services, "storage", lambda: LocalStorage(root))
    return result


def pdf_reader(services: Services, path: str) -> IsolatedPdfReader:
    """A reader for one job's PDF, in child processes under the ULTUDY_PDF_* caps."""
    s = services.settings
    limits = PdfLimits(
        max_pages=s.pdf_max_pages, max_chars_per_page=s.pdf_max_chars_per_page,
        max_chars=s.pdf_max_chars, max_render_pixels=s.pdf_max_render_pixels,
        time_limit_s=s.pdf_time_limit_s, memory_limit_mb=s.pdf_memory_limit_mb,
    )  # fmt: skip
    return IsolatedPdfReader(path, limits)


def _llm(services: Services) -> Any:
    s = services.settings
    return _cached(services, "llm", lambda: make_llm_client(
        provider=s.llm_provider, base_url=s.llm_base_url, api_key=s.llm_api_key,
        model=s.llm_model,
    ))  # fmt: skip


def lesson_engine(services: Services) -> LessonEngine:
    client = _llm(services)
    engine: LessonEngine = _cached(
        services, "lesson_engine",
        lambda: LLMLessonEngine(client) if client else OfflineLessonEngine(),
    )  # fmt: skip
    return engine


def page_reader(services: Services) -> LLMPageReader | None:
    """A vision-capable model for pages without a text layer; None when offline."""
    client = _llm(services)
    return None if client is None else LLMPageReader(client)


def free_text_grader(services: Services) -> FreeTextGrader:
    client = _llm(services)
    grader: FreeTextGrader = _cached(
        services, "grader", lambda: LLMGrader(client) if client else OfflineGrader()
    )
    return grader
