"""Documents and their sections, owner-scoped."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from fastapi import APIRouter, Response, status

from ultudy.api.deps import Caller, State
from ultudy.api.schemas.documents import DocumentList, DocumentOut, DocumentSummary
from ultudy.api.schemas.errors import errors
from ultudy.db.removal import delete_document, find_document, jobs_working_on
from ultudy.db.study import get_document, list_documents
from ultudy.errors import JobInputError, NotFoundError
from ultudy.jobs.service import JobStateError

router = APIRouter(prefix="/documents", tags=["documents"])


@router.get("", response_model=DocumentList, summary="The caller's documents, newest first")
async def documents(state: State, caller: Caller) -> DocumentList:
    async with state.db.transaction(caller.user_id) as conn:
        rows = await list_documents(conn, caller.user_id)
    return DocumentList(documents=[DocumentSummary.of(row) for row in rows])


@router.get("/{document_id}", response_model=DocumentOut, summary="One document with its sections")
async def document(document_id: uuid.UUID, state: State, caller: Caller) -> DocumentOut:
    async with state.db.transaction(caller.user_id) as conn:
        found = await get_document(conn, caller.user_id, document_id)
    if found is None:
        raise NotFoundError("Document not found")
    return DocumentOut.of(found)


@router.delete(
    "/{document_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a document, all that was made from it, and its file",
    responses=errors(409),
)  # 409: a job still works on it
async def remove(document_id: uuid.UUID, state: State, caller: Caller) -> Response:
    async with state.db.transaction(caller.user_id) as conn:
        found = await find_document(conn, caller.user_id, document_id)
        if found is None:
            raise NotFoundError("Document not found")
        if busy := await jobs_working_on(conn, caller.user_id, found):
            raise JobStateError(
                f"{busy} unfinished job(s) still work on this document; cancel them or "
                "wait for them to end, then delete it."
            )
        await delete_document(conn, caller.user_id, document_id)
    state.sections_seen.forget_document(caller.user_id, document_id)
    # After the commit: a file without its row is garbage, a row without its file is broken.
    with contextlib.suppress(JobInputError):  # a key that names no file of ours
        await asyncio.to_thread(state.services.storage.delete, found.storage_key)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
