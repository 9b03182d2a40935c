"""Documents and their sections; the sync upload's result."""

from __future__ import annotations

from pydantic import BaseModel


class DocumentSummary(BaseModel):
    id: str
    title: str
    filename: str
    page_count: int
    section_count: int
    created_at: str | None


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


class DocumentOut(BaseModel):
    id: str
    title: str
    filename: str
    page_count: int
    pages_without_text: list[int]
    pages_read_by_model: list[int]
    created_at: str | None
    sections: list[SectionOut]


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
