from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from botcraft.db import RowId
from botcraft.i18n import N_, StoredText
from botcraft.inputs import Input


class _Text(Input):
    @field_validator("message", "text", check_fields=False)
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(N_("must not be blank"))
        return value.strip()


class ChatIn(_Text):
    message: str = Field(min_length=1, max_length=4000)
    conversation_id: RowId | None = None


class ChatOut(BaseModel):
    reply: str
    conversation_id: int
    message_id: int
    answered_by: str
    needs_attention: bool
    sources: list[dict[str, Any]]


class ConversationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    agent_id: int
    channel: str
    external_chat_id: str
    customer_name: str | None
    customer_username: str | None = None
    mode: str
    needs_attention: bool
    attention_reason: StoredText
    blocked: bool
    last_message_at: datetime
    last_message_text: str | None
    last_customer_message_at: datetime | None
    created_at: datetime
    # For the inbox row: the customer's latest message, and who spoke last (customer bot owner).
    last_customer_text: str | None = None
    last_author: str | None = None
    is_test: bool = False  # the owner's own test chat


class ConversationPage(BaseModel):
    items: list[ConversationOut]
    page: int
    per_page: int
    total: int
    attention_total: int = 0  # conversations that need the owner, for the tab's counter


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    conversation_id: int
    direction: str
    author: str
    text: str
    status: str
    error: StoredText
    sources: list[dict[str, Any]] | None
    answered_by: str | None
    model: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    reply_to_id: int | None
    created_at: datetime


class ModeIn(Input):
    mode: Literal["bot", "human"]


class OwnerReplyIn(_Text):
    text: str = Field(min_length=1, max_length=4000)
