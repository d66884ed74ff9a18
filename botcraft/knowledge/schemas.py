from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from botcraft.i18n import StoredText


class DocumentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    agent_id: int
    filename: str
    file_type: str
    size: int
    sha256: str
    status: str
    error: StoredText
    chunk_count: int
    pages: int | None
    is_processed: bool
    uploaded_at: datetime
    processed_at: datetime | None


class UploadOut(DocumentOut):
    duplicate: bool = False


class SourceOut(BaseModel):
    document_id: int
    filename: str
    page: int | None
    sheet: str | None
    row_start: int | None
    row_end: int | None
    label: str


class HitOut(BaseModel):
    chunk_id: int
    score: float
    text: str
    source: SourceOut


class SearchOut(BaseModel):
    query: str
    results: list[HitOut]
