"""Documents and their sections, owner-scoped."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from ultudy.api.deps import Caller, State
from ultudy.db.study import get_document, list_documents
from ultudy.errors import NotFoundError

router = APIRouter(prefix="/documents", tags=["documents"])


@router.get("", summary="The caller's documents, newest first")
async def documents(state: State, caller: Caller) -> dict[str, Any]:
    async with state.db.transaction(caller.user_id) as conn:
        return {"documents": await list_documents(conn, caller.user_id)}


@router.get("/{document_id}", summary="One document with its sections")
async def document(document_id: uuid.UUID, state: State, caller: Caller) -> dict[str, Any]:
    async with state.db.transaction(caller.user_id) as conn:
        found = await get_document(conn, caller.user_id, document_id)
    if found is None:
        raise NotFoundError("Document not found")
    return found
