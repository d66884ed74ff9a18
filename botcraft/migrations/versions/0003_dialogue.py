"""Dialogue: conversations and messages.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from botcraft.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("agent_id", sa.Integer, sa.ForeignKey("ai_agents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("external_chat_id", sa.String(128), nullable=False),
        sa.Column("customer_name", sa.String(255)),
        sa.Column("mode", sa.String(8), nullable=False, server_default="bot"),
        sa.Column("needs_attention", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("attention_reason", sa.Text),
        sa.Column("blocked", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("last_message_at", UTCDateTime, nullable=False),
        sa.Column("last_message_text", sa.Text),
        sa.Column("last_customer_message_at", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("agent_id", "channel", "external_chat_id", name="uq_conversations_chat"),
    )
    op.create_index("ix_conversations_agent_recent", "conversations", ["agent_id", "last_message_at"])
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("conversation_id", sa.Integer, sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
        sa.Column("agent_id", sa.Integer, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("author", sa.String(8), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("channel_message_id", sa.String(255)),
        sa.Column("reply_to_id", sa.Integer, sa.ForeignKey("messages.id", ondelete="SET NULL"), unique=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("sources", sa.JSON),
        sa.Column("answered_by", sa.String(16)),
        sa.Column("model", sa.String(100)),
        sa.Column("prompt_tokens", sa.Integer),
        sa.Column("completion_tokens", sa.Integer),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("agent_id", "channel", "channel_message_id", name="uq_messages_channel_id"),
    )
    op.create_index("ix_messages_conversation", "messages", ["conversation_id", "id"])


def downgrade() -> None:
    op.drop_table("messages")
    op.drop_table("conversations")
