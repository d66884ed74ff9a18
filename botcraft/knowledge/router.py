from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy import delete

from botcraft.agents.service import get_owned
from botcraft.auth.deps import CurrentUser, SettingsDep
from botcraft.db import DatabaseDep, RowId, SessionDep, after_commit
from botcraft.knowledge import service, storage
from botcraft.knowledge.schemas import DocumentOut, SearchOut, UploadOut
from botcraft.knowledge.search import search
from botcraft.knowledge.upload import receive_file
from botcraft.models import Document
from botcraft.openapi import errors

router = APIRouter(prefix="/api/agents/{agent_id}", tags=["knowledge"])


@router.post(
    "/documents",
    status_code=status.HTTP_201_CREATED,
    response_model=UploadOut,
    responses={
        200: {"model": UploadOut, "description": "The same file is already there: that document, `duplicate` true"},
        **errors(400, 409, 413, 415),
    },
    openapi_extra={
        "requestBody": {
            "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}},
            }}},
            "required": True,
        }
    },
)
async def upload_document(
    agent_id: RowId, request: Request, response: Response, user: CurrentUser, db: DatabaseDep, settings: SettingsDep
) -> UploadOut:
    # Ownership first, so nobody can stream bytes at an agent that is not theirs.
    async with db.transaction(write=False) as session:
        await get_owned(session, user, agent_id)
    received = await receive_file(
        request, field="file", max_bytes=settings.max_upload_bytes, tmp_dir=storage.tmp_dir(settings.data_dir)
    )
    try:
        file_type = service.check_type(received)
        async with db.transaction() as session:
            agent = await get_owned(session, user, agent_id, for_update=True)
            document, duplicate = await service.add_document(
                session, agent, received, file_type,
                data_dir=settings.data_dir, limit=settings.max_documents_per_agent,
            )
    finally:
        received.path.unlink(missing_ok=True)  # moved into place, or refused
    if duplicate:
        response.status_code = status.HTTP_200_OK
    return UploadOut.model_validate(document).model_copy(update={"duplicate": duplicate})


@router.get("/documents", response_model=list[DocumentOut])
async def list_documents(agent_id: RowId, user: CurrentUser, db: SessionDep) -> list[Document]:
    agent = await get_owned(db, user, agent_id)
    return await service.list_documents(db, agent)


@router.get("/documents/{document_id}", response_model=DocumentOut)
async def get_document(agent_id: RowId, document_id: RowId, user: CurrentUser, db: SessionDep) -> Document:
    agent = await get_owned(db, user, agent_id)
    return await service.get_document(db, agent, document_id)


@router.delete("/documents/{document_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_document(
    agent_id: RowId, document_id: RowId, user: CurrentUser, db: SessionDep, database: DatabaseDep, settings: SettingsDep
) -> None:
    agent = await get_owned(db, user, agent_id)
    document = await service.get_document(db, agent, document_id)
    sha = document.sha256
    await db.execute(delete(Document).where(Document.id == document.id))

    async def remove_file() -> None:
        async with database.transaction(write=False) as session:
            await storage.remove_unreferenced(session, settings.data_dir, [sha])

    after_commit(db, remove_file)


@router.post("/documents/{document_id}/reprocess", status_code=status.HTTP_202_ACCEPTED, response_model=DocumentOut)
async def reprocess_document(agent_id: RowId, document_id: RowId, user: CurrentUser, db: SessionDep) -> Document:
    agent = await get_owned(db, user, agent_id, for_update=True)
    document = await service.get_document(db, agent, document_id)
    service.reprocess(db, document)
    await db.flush()
    return document


@router.get("/search", response_model=SearchOut)
async def search_knowledge(
    agent_id: RowId,
    user: CurrentUser,
    db: SessionDep,
    q: Annotated[str, Query(min_length=1, max_length=500)],
    limit: Annotated[int, Query(ge=1, le=50)] = 5,
) -> SearchOut:
    agent = await get_owned(db, user, agent_id)
    hits = await search(db, agent.id, q, limit=limit)
    return SearchOut.model_validate({"query": q, "results": [h.as_dict() for h in hits]})
