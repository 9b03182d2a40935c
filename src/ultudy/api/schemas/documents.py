"""Documents and their sections; the sync upload's result."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ultudy.api.schemas.common import iso
from ultudy.db.study import DocumentRows


class DocumentSummary(BaseModel):
    id: str
    title: str
    filename: str
    page_count: int
    section_count: int
    created_at: str | None

    @classmethod
    def of(cls, row: Any) -> DocumentSummary:
        return cls(
            id=str(row.id),
            title=row.title,
            filename=row.filename,
            page_count=row.page_count,
            section_count=row.section_count,
            created_at=iso(row.created_at),
        )


class DocumentList(BaseModel):
    documents: list[DocumentSummary]


class SectionOut(BaseModel):
    id: str
    title: str
    level: int
    page_start: int
    page_end: int
    char_count: int
    lesson_id: str | None  # the newest lesson made from it, if any

    @classmethod
    def of(cls, row: Any) -> SectionOut:
        return cls(
            id=str(row.id),
            title=row.title,
            level=row.level,
            page_start=row.page_start,
            page_end=row.page_end,
            char_count=row.char_count,
            lesson_id=str(row.lesson_id) if row.lesson_id else None,
        )


class DocumentOut(BaseModel):
    id: str
    title: str
    filename: str
    page_count: int
    pages_without_text: list[int]
    pages_read_by_model: list[int]
    created_at: str | None
    sections: list[SectionOut]

    @classmethod
    def of(cls, found: DocumentRows) -> DocumentOut:
        doc = found.document
        return cls(
            id=str(doc.id),
            title=doc.title,
            filename=doc.filename,
            page_count=doc.page_count,
            pages_without_text=doc.pages_without_text,
            pages_read_by_model=doc.pages_read_by_model or [],
            created_at=iso(doc.created_at),
            sections=[SectionOut.of(s) for s in found.sections],
        )


class UploadedSection(BaseModel):
    id: str
    title: str
    page_start: int
    page_end: int
    char_count: int


class UploadResult(BaseModel):
    """A material upload job's result: the stored document and its sections."""

    document_id: str
    title: str
    page_count: int
    sections: list[UploadedSection]
    pages_without_text: list[int]
    pages_read_by_model: list[int]
