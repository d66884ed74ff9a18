"""The owner's loop: notifications, their settings, Q&A pairs; customer usernames, handed-over flags.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from botcraft.models import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on both engines (no table rebuild, so no cascade on SQLite).
    op.add_column("conversations", sa.Column("customer_username", sa.String(64)))
    op.add_column("messages", sa.Column("handed_over", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("conversation_id", sa.Integer, sa.ForeignKey("conversations.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("agent_id", sa.Integer, nullable=False),
        sa.Column("open_conversation_id", sa.Integer),
        sa.Column("channel", sa.String(8)),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("message_id", sa.Integer, sa.ForeignKey("messages.id", ondelete="SET NULL")),
        sa.Column("update_queued", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("platform_chat_id", sa.BigInteger),
        sa.Column("platform_message_id", sa.BigInteger),
        sa.Column("error", sa.Text),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("sent_at", UTCDateTime),
        sa.Column("resolved_at", UTCDateTime),
        sa.UniqueConstraint("open_conversation_id", "user_id", name="uq_notifications_open"),
    )
    op.create_index("ix_notifications_platform_message", "notifications",
                    ["platform_chat_id", "platform_message_id"])
    op.create_table(
        "notification_settings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("agent_id", sa.Integer, sa.ForeignKey("ai_agents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.UniqueConstraint("user_id", "agent_id", name="uq_notification_settings"),
    )
    op.create_table(
        "owner_answers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("agent_id", sa.Integer, sa.ForeignKey("ai_agents.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("questions", sa.JSON, nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("document_id", sa.Integer, sa.ForeignKey("documents.id", ondelete="SET NULL")),
        sa.Column("conversation_id", sa.Integer, sa.ForeignKey("conversations.id", ondelete="SET NULL")),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("owner_answers")
    op.drop_table("notification_settings")
    op.drop_index("ix_notifications_platform_message", "notifications")
    op.drop_table("notifications")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("handed_over")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("customer_username")
