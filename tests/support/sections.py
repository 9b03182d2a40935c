"""A document with one section, written through the app's own `insert_document`, so that
`POST /lessons/generate-async` accepts the body this returns."""

from __future__ import annotations

import uuid

from ultudy.db import Database
from ultudy.db.study import insert_document


async def a_section(db: Database, owner: str) -> dict[str, str]:
    section_id = uuid.uuid4()
    row = {
        "id": section_id,
        "title": "S",
        "level": 1,
        "page_start": 1,
        "page_end": 1,
        "text": "text",
        "char_count": 4,
        "content_hash": "h",
    }
    doc = {
        "title": "t",
        "filename": "t.pdf",
        "storage_key": "k",
        "sha256": "",
        "page_count": 1,
        "pages_without_text": [],
    }
    async with db.transaction(owner) as conn:
        doc_id = await insert_document(conn, owner, doc, [row])
    return {"document_id": str(doc_id), "section_id": str(section_id)}
