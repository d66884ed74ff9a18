"""Chunks indexed by (document, ordinal): a passage's neighbours and a span's rows read in order.

Revision ID: 0010
Revises: 0009

Search by meaning reads the rows of the spans it found (document_id and an ordinal range), and
an overview reads a price list's first rows; with an index on document_id alone each read
walked the whole document (bench/meaning_search.py). The composite index also serves every
lookup by document_id, so it replaces that one.
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_chunks_document_ordinal", "chunks", ["document_id", "ordinal"])
    op.drop_index("ix_chunks_document_id", table_name="chunks")


def downgrade() -> None:
    op.create_index("ix_chunks_document_id", "chunks", ["document_id"])
    op.drop_index("ix_chunks_document_ordinal", table_name="chunks")
