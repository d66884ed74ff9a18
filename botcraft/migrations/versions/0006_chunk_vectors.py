"""Search by meaning: vectors of chunks (with their model and dimension) and per-document
embedding progress.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("embedding_status", sa.String(16)))
        batch.add_column(sa.Column("embedding_model", sa.String(200)))
        batch.add_column(sa.Column("embedded_count", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("embedding_total", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("embedding_error", sa.Text))
    op.create_table(
        "chunk_vectors",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("document_id", sa.Integer, sa.ForeignKey("documents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("agent_id", sa.Integer, nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("dim", sa.Integer, nullable=False),
        sa.Column("ordinal_start", sa.Integer, nullable=False),
        sa.Column("ordinal_end", sa.Integer, nullable=False),
        sa.Column("vector", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("document_id", "model", "ordinal_start", name="uq_chunk_vectors_span"),
    )
    op.create_index("ix_chunk_vectors_agent_model", "chunk_vectors", ["agent_id", "model"])


def downgrade() -> None:
    op.drop_index("ix_chunk_vectors_agent_model", "chunk_vectors")
    op.drop_table("chunk_vectors")
    with op.batch_alter_table("documents") as batch:
        for column in ("embedding_error", "embedding_total", "embedded_count", "embedding_model", "embedding_status"):
            batch.drop_column(column)
