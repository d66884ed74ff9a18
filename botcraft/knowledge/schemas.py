from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, computed_field

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
    # Search by meaning, computed after `ready`: queued running ready failed, or None.
    embedding_status: str | None = None
    embedding_model: str | None = None
    embedded_count: int = 0
    embedding_total: int = 0
    embedding_error: StoredText = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def embedding_progress(self) -> str | None:
        """`embedded 240/800`: vectors stored of those the document needs."""
        if self.embedding_status is None:
            return None
        return f"embedded {self.embedded_count}/{self.embedding_total or '?'}"


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
    # "words", "meaning" or both: how search found this passage.
    found_by: list[str]
    similarity: float | None
    close_in_meaning: bool


class SearchOut(BaseModel):
    query: str
    results: list[HitOut]
