"""Agents: the owner's own synonyms, read with the built-in ones when a question is searched.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ai_agents") as batch:
        batch.add_column(sa.Column("synonyms", sa.Text, nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("ai_agents") as batch:
        batch.drop_column("synonyms")
