"""Accounts and agents: users, sessions, ai_agents.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from botcraft.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("telegram_id", sa.BigInteger, unique=True),
        sa.Column("email", sa.String(320), unique=True),
        sa.Column("password_hash", sa.String(255)),
        sa.Column("salt", sa.String(255)),
        sa.Column("display_name", sa.String(255)),
        sa.Column("telegram_username", sa.String(64)),
        sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("session_token", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("revoked_at", UTCDateTime),
        sa.Column("user_agent", sa.String(512)),
        sa.Column("ip", sa.String(64)),
    )
    op.create_table(
        "ai_agents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("business_description", sa.Text, nullable=False, server_default=""),
        sa.Column("capabilities", sa.Text, nullable=False, server_default=""),
        sa.Column("tone", sa.String(200), nullable=False, server_default=""),
        sa.Column("system_prompt", sa.Text, nullable=False, server_default=""),
        sa.Column("integrations_json", sa.JSON, nullable=False),
        sa.Column("language", sa.String(8), nullable=False, server_default="ru"),
        sa.Column("llm_model", sa.String(100)),
        sa.Column("llm_temperature", sa.Float),
        sa.Column("llm_base_url", sa.String(500)),
        sa.Column("llm_api_key", sa.Text),
        sa.Column("media_reply", sa.Text),
        sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ai_agents")
    op.drop_table("sessions")
    op.drop_table("users")
