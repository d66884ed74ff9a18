"""What /health says about search by meaning: which embeddings, and how far indexing has got."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from botcraft.config import Settings
from botcraft.db import Database
from botcraft.knowledge import meaning
from botcraft.models import Document


async def embeddings_health(db: Database, settings: Settings) -> dict[str, Any]:
    current = meaning.current()
    if current is None:
        return {"mode": settings.embeddings, "model": None}
    body: dict[str, Any] = {"mode": current.embedder.mode, "model": current.model,
                            "calibrated": current.embedder.profile.min_margin is not None,
                            "index_memory_mb": round(current.index.nbytes / 2**20, 1)}
    base_url = getattr(current.embedder, "base_url", None)
    if base_url:
        body["base_url"] = base_url
    try:
        async with db.transaction(write=False) as session:
            rows = (await session.execute(
                select(Document.embedding_status, func.count(), func.sum(Document.embedded_count),
                       func.sum(Document.embedding_total))
                .where(Document.status == "ready", Document.embedding_model == current.model)
                .group_by(Document.embedding_status)
            )).all()
    except Exception as exc:  # noqa: BLE001 - the database part of /health reports it
        body["indexing"] = {"error": type(exc).__name__}
        return body
    documents = {str(r[0]): int(r[1]) for r in rows}
    body["indexing"] = {
        "documents": documents,
        "vectors_done": sum(int(r[2] or 0) for r in rows),
        "vectors_total": sum(int(r[3] or 0) for r in rows),
        "pending_documents": documents.get("queued", 0) + documents.get("running", 0),
    }
    return body
