"""Documents of an agent: accept an upload, list, delete, reprocess. Never commits."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from botcraft.errors import AppError, Conflict, NotFound
from botcraft.i18n import N_
from botcraft.jobs.kinds import PROCESS_DOCUMENT
from botcraft.jobs.queue import enqueue
from botcraft.knowledge import storage
from botcraft.knowledge.sniff import SUPPORTED_FORMATS, detect_type
from botcraft.knowledge.upload import ReceivedFile
from botcraft.models import QA_TYPE, Agent, Document


class UnsupportedFormat(AppError):
    status_code = 415
    code = "unsupported_format"


class EmptyFile(AppError):
    status_code = 400
    code = "empty_file"


def check_type(received: ReceivedFile) -> str:
    """The file's real type from its content; the name and browser's claim are ignored."""
    if received.size == 0:
        raise EmptyFile("The file is empty.")
    file_type = detect_type(received.head, received.path)
    if file_type is None:
        claimed = Path(received.filename or "").suffix.lower().lstrip(".").replace("jpeg", "jpg")
        if claimed.upper() in SUPPORTED_FORMATS:
            # Named as a format we read but not one inside: a damaged file, most likely.
            raise UnsupportedFormat(
                N_("«{filename}» is damaged or is not really a {format} file: save or export it again and "
                   "re-upload. Supported formats: {formats}.").format(
                    filename=received.filename, format=claimed.upper(), formats=", ".join(SUPPORTED_FORMATS)),
                code="damaged_file",
            )
        raise UnsupportedFormat(
            N_("«{filename}» is not a supported file. Supported formats: {formats}.").format(
                filename=received.filename, formats=", ".join(SUPPORTED_FORMATS))
        )
    return file_type


async def add_document(
    db: AsyncSession, agent: Agent, received: ReceivedFile, file_type: str, *, data_dir: Path, limit: int
) -> tuple[Document, bool]:
    """(document, duplicate). The agent row is locked, so the limit holds under concurrency."""
    existing = await db.scalar(
        select(Document).where(Document.agent_id == agent.id, Document.sha256 == received.sha256)
    )
    if existing is not None:
        received.path.unlink(missing_ok=True)
        return existing, True
    count = await db.scalar(select(func.count()).select_from(Document).where(Document.agent_id == agent.id,
                                                                             Document.file_type != QA_TYPE))
    if (count or 0) >= limit:
        received.path.unlink(missing_ok=True)
        raise Conflict(
            N_("This agent already has {limit} documents, the most allowed; delete one first.").format(limit=limit),
            code="document_limit_reached",
            extra={"limit": limit},
        )
    relative = storage.store(data_dir, received.path, received.sha256)
    document = Document(
        agent_id=agent.id,
        filename=received.filename,
        file_path=relative,
        file_type=file_type,
        size=received.size,
        sha256=received.sha256,
        status="queued",
    )
    db.add(document)
    await db.flush()
    enqueue(db, PROCESS_DOCUMENT, {"document_id": document.id})
    return document, False


async def get_document(db: AsyncSession, agent: Agent, document_id: int) -> Document:
    document = await db.scalar(
        select(Document).where(Document.id == document_id, Document.agent_id == agent.id,
                               Document.file_type != QA_TYPE)
    )
    if document is None:
        raise NotFound("Document not found.", code="document_not_found")
    return document


async def list_documents(db: AsyncSession, agent: Agent) -> list[Document]:
    return list(
        await db.scalars(select(Document).where(Document.agent_id == agent.id, Document.file_type != QA_TYPE)
                         .order_by(Document.id.desc()))
    )


def reprocess(db: AsyncSession, document: Document) -> None:
    document.status, document.error = "queued", None
    document.embedding_status = None
    enqueue(db, PROCESS_DOCUMENT, {"document_id": document.id})

