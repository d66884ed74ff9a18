"""Every table, so the schema reads in one place (migrations in botcraft/migrations)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on both engines (SQLite would hand back naive datetimes)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[dict[str, Any]]: JSON}


def table_of(model: type[Base]) -> Table:
    """The model's Core table, for statements that skip the ORM (the message path's)."""
    return cast(Table, model.__table__)


# --- Accounts ------------------------------------------------------------------------


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Only for hashes imported in the seed's legacy sha256(password + salt) form.
    salt: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255))
    telegram_username: Mapped[str | None] = mapped_column(String(64))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Session(Base):
    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # sha256 of the issued token: a leaked database does not yield usable tokens.
    session_token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    user_agent: Mapped[str | None] = mapped_column(String(512))
    ip: Mapped[str | None] = mapped_column(String(64))


# --- Agents --------------------------------------------------------------------------


class Agent(Base):
    __tablename__ = "ai_agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    business_description: Mapped[str] = mapped_column(Text, default="")
    capabilities: Mapped[str] = mapped_column(Text, default="")
    tone: Mapped[str] = mapped_column(String(200), default="")
    system_prompt: Mapped[str] = mapped_column(Text, default="")
    # Channel settings; the secrets inside are Fernet tokens (botcraft.crypto).
    integrations_json: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    language: Mapped[str] = mapped_column(String(8), default="ru")
    llm_model: Mapped[str | None] = mapped_column(String(100))
    llm_temperature: Mapped[float | None] = mapped_column(Float)
    llm_base_url: Mapped[str | None] = mapped_column(String(500))
    llm_api_key: Mapped[str | None] = mapped_column(Text)  # encrypted
    media_reply: Mapped[str | None] = mapped_column(Text)
    # The owner's synonyms, one group a line ("парковка, стоянка"): botcraft.language.synonyms.
    synonyms: Mapped[str] = mapped_column(Text, default="", server_default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# --- Durable jobs --------------------------------------------------------------------


class Job(Base):
    """A unit of background work. Enqueued in the transaction of the row it concerns."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_claimable", "status", "run_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued running done dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    run_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


# --- Knowledge -----------------------------------------------------------------------


QA_TYPE = "qa"  # Document.file_type of an owner's Q&A pair's hidden document; never listed as an upload


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("agent_id", "sha256", name="uq_documents_agent_sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("ai_agents.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    file_path: Mapped[str] = mapped_column(String(500))  # relative to DATA_DIR
    file_type: Mapped[str] = mapped_column(String(8))  # pdf docx xlsx jpg png
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued processing ready failed
    error: Mapped[str | None] = mapped_column(Text)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    pages: Mapped[int | None] = mapped_column(Integer)
    # The seed's column, kept for its readers: always `status == "ready"` (set by _derive_is_processed).
    is_processed: Mapped[bool] = mapped_column(Boolean, default=False)
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
    # Search by meaning, computed after the document is ready: queued running ready failed,
    # None while it is not ready or with EMBEDDINGS=off; counts are vectors of embedding_model.
    embedding_status: Mapped[str | None] = mapped_column(String(16))
    embedding_model: Mapped[str | None] = mapped_column(String(200))
    embedded_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    embedding_total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    embedding_error: Mapped[str | None] = mapped_column(Text)


@event.listens_for(Document.status, "set")
def _derive_is_processed(document: Document, status: str, _old: object, _initiator: object) -> None:
    """The one place is_processed is written: a document is processed exactly when it is ready."""
    document.is_processed = status == "ready"


class Chunk(Base):
    """A retrievable passage. Ranked by words in the process (knowledge.word_index)."""

    __tablename__ = "chunks"
    # Also serves lookups by document alone; a span's rows and a document's first rows in order.
    __table_args__ = (Index("ix_chunks_document_ordinal", "document_id", "ordinal"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    agent_id: Mapped[int] = mapped_column(Integer, index=True)
    ordinal: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    # The analyzer's stemmed tokens (language.analyzer), space-separated: what BM25 ranks.
    search_text: Mapped[str] = mapped_column(Text)
    page: Mapped[int | None] = mapped_column(Integer)
    sheet: Mapped[str | None] = mapped_column(String(255))
    row_start: Mapped[int | None] = mapped_column(Integer)
    row_end: Mapped[int | None] = mapped_column(Integer)


class ChunkVector(Base):
    """The meaning of a span of a document's chunks (one chunk, or neighbouring rows of a
    huge sheet that share a vector), as float32 bytes of `dim` values from `model`.
    Search compares only vectors of the model in use."""

    __tablename__ = "chunk_vectors"
    __table_args__ = (
        UniqueConstraint("document_id", "model", "ordinal_start", name="uq_chunk_vectors_span"),
        Index("ix_chunk_vectors_agent_model", "agent_id", "model"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    agent_id: Mapped[int] = mapped_column(Integer)
    model: Mapped[str] = mapped_column(String(200))
    dim: Mapped[int] = mapped_column(Integer)
    ordinal_start: Mapped[int] = mapped_column(Integer)
    ordinal_end: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


# --- Dialogue ------------------------------------------------------------------------


class Conversation(Base):
    """One customer's chat with one agent on one channel (or the owner's playground)."""

    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("agent_id", "channel", "external_chat_id", name="uq_conversations_chat"),
        Index("ix_conversations_agent_recent", "agent_id", "last_message_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("ai_agents.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))  # playground telegram whatsapp instagram
    external_chat_id: Mapped[str] = mapped_column(String(128))
    customer_name: Mapped[str | None] = mapped_column(String(255))
    customer_username: Mapped[str | None] = mapped_column(String(64))  # Telegram @username, where given
    mode: Mapped[str] = mapped_column(String(8), default="bot")  # bot | human
    needs_attention: Mapped[bool] = mapped_column(Boolean, default=False)
    attention_reason: Mapped[str | None] = mapped_column(Text)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)  # the customer blocked the bot
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_message_text: Mapped[str | None] = mapped_column(Text)
    # Start of the WhatsApp/Instagram 24-hour window: the customer's last message.
    last_customer_message_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        # A redelivered inbound event is stored once.
        UniqueConstraint("agent_id", "channel", "channel_message_id", name="uq_messages_channel_id"),
        Index("ix_messages_conversation", "conversation_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    agent_id: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    author: Mapped[str] = mapped_column(String(8))  # customer | bot | owner
    text: Mapped[str] = mapped_column(Text)
    channel_message_id: Mapped[str | None] = mapped_column(String(255))
    # The bot's answer points at the question: unique, so a retried turn cannot answer twice.
    reply_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), unique=True
    )
    # received | pending (waiting for the owner) | queued | sent | delivered | read | failed
    status: Mapped[str] = mapped_column(String(12))
    error: Mapped[str | None] = mapped_column(Text)
    sources: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # llm | offline | greeting | media | failure | owner_answer (a Q&A pair) | handover
    answered_by: Mapped[str | None] = mapped_column(String(16))
    # A customer's message the bot handed over to the owner (the "unanswered questions").
    handed_over: Mapped[bool] = mapped_column(Boolean, default=False)
    model: Mapped[str | None] = mapped_column(String(100))
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- Channels ------------------------------------------------------------------------


class ChannelState(Base):
    """One agent's connection to one channel: how it runs and how it is doing."""

    __tablename__ = "channel_states"
    __table_args__ = (
        UniqueConstraint("agent_id", "channel", name="uq_channel_states_agent_channel"),
        # Routing of webhooks: WhatsApp phone_number_id, Instagram account id.
        UniqueConstraint("channel", "route_key", name="uq_channel_states_route"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("ai_agents.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str | None] = mapped_column(String(8))  # webhook | polling
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)  # the owner wants it running
    route_key: Mapped[str | None] = mapped_column(String(64))
    # sha256 of Telegram's X-Telegram-Bot-Api-Secret-Token for this agent.
    webhook_secret_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    polling_offset: Mapped[int | None] = mapped_column(BigInteger)
    # One poller per bot token across all processes.
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None]
    last_event_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ChannelEvent(Base):
    """Every inbound event, stored before it is acknowledged; unique per channel and agent."""

    __tablename__ = "channel_events"
    __table_args__ = (UniqueConstraint("agent_id", "channel", "event_id", name="uq_channel_events_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("ai_agents.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)  # the parsed InboundEvent, what the job reads
    # What the platform sent (a Telegram update; a Meta webhook body), to replay after a parser fix.
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- The owner's loop ------------------------------------------------------------------


class Notification(Base):
    """One owner told about one conversation that needs them, until it is resolved."""

    __tablename__ = "notifications"
    __table_args__ = (
        # One open notification per conversation and owner: further messages update it.
        UniqueConstraint("open_conversation_id", "user_id", name="uq_notifications_open"),
        # An owner's reply in Telegram finds its notification by the message it replies to.
        Index("ix_notifications_platform_message", "platform_chat_id", "platform_message_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    agent_id: Mapped[int] = mapped_column(Integer)
    # The conversation's id while open, NULL once resolved (NULLs never collide in a unique index).
    open_conversation_id: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[str | None] = mapped_column(String(8))  # telegram | email, chosen when sent
    state: Mapped[str] = mapped_column(String(10), default="pending")  # pending sent failed
    kind: Mapped[str] = mapped_column(String(24))  # why: no_answer, asked_for_person, llm_failed, ...
    # The customer's message that needed the owner; the notice shows it and what came after.
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    # What the owner sees is behind the row (a new message, resolved): one update job is queued.
    update_queued: Mapped[bool] = mapped_column(Boolean, default=False)
    platform_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    platform_message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]


class NotificationSetting(Base):
    """An owner's choice per agent; no row means notifications are on."""

    __tablename__ = "notification_settings"
    __table_args__ = (UniqueConstraint("user_id", "agent_id", name="uq_notification_settings"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("ai_agents.id", ondelete="CASCADE"))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class OwnerAnswer(Base):
    """A Q&A pair: the owner's own answer, indexed as the chunks of a hidden document."""

    __tablename__ = "owner_answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("ai_agents.id", ondelete="CASCADE"), index=True)
    questions: Mapped[list[str]] = mapped_column(JSON)  # several phrasings of one question
    answer: Mapped[str] = mapped_column(Text)
    # The document of kind "qa" whose chunks (one per phrasing) search finds.
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id", ondelete="SET NULL"))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
class SendPacing(Base):
    """The next free send slot of a sender (`telegram:<agent>`) or a chat (`<sender>|<chat>`),
    shared by every process on PostgreSQL (botcraft/channels/ratelimit.py)."""

    __tablename__ = "send_pacing"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    next_at: Mapped[float] = mapped_column(Float(53))  # epoch seconds, the database's clock
