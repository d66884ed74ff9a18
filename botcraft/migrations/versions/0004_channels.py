"""Channels: per-agent channel state and the stored inbound events.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from botcraft.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_states",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("agent_id", sa.Integer, sa.ForeignKey("ai_agents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(8)),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("route_key", sa.String(64)),
        sa.Column("webhook_secret_hash", sa.String(64), unique=True),
        sa.Column("polling_offset", sa.BigInteger),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_expires_at", UTCDateTime),
        sa.Column("last_event_at", UTCDateTime),
        sa.Column("last_error", sa.Text),
        sa.Column("last_error_at", UTCDateTime),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("agent_id", "channel", name="uq_channel_states_agent_channel"),
        sa.UniqueConstraint("channel", "route_key", name="uq_channel_states_route"),
    )
    op.create_table(
        "channel_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("agent_id", sa.Integer, sa.ForeignKey("ai_agents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("agent_id", "channel", "event_id", name="uq_channel_events_id"),
    )


def downgrade() -> None:
    op.drop_table("channel_events")
    op.drop_table("channel_states")
