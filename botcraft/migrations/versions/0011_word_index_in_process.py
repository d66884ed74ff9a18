"""The databases' full-text indexes go: BM25 is ranked in the process (knowledge.word_index).

Revision ID: 0011
Revises: 0010

SQLite's FTS5 table (and its triggers) and PostgreSQL's generated tsvector column (and its GIN
index) ranked every row holding a common word before returning five: 140 ms and more at
100,000 chunks. Search now ranks `chunks.search_text` in memory, the same way on both
databases, so these indexes would only slow every chunk insert down.
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS chunks_fts_delete")
        op.execute("DROP TRIGGER IF EXISTS chunks_fts_insert")
        op.execute("DROP TABLE IF EXISTS chunks_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_chunks_search_tsv")
        op.execute("ALTER TABLE chunks DROP COLUMN IF EXISTS search_tsv")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE chunks_fts USING fts5(search_text, content='chunks', "
            "content_rowid='id', tokenize='unicode61 remove_diacritics 0')"
        )
        op.execute(
            "CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN "
            "INSERT INTO chunks_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
        )
        op.execute(
            "CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN "
            "INSERT INTO chunks_fts(chunks_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); END"
        )
        op.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('rebuild')")
    else:
        op.execute(
            "ALTER TABLE chunks ADD COLUMN search_tsv tsvector "
            "GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED"
        )
        op.execute("CREATE INDEX ix_chunks_search_tsv ON chunks USING gin (search_tsv)")
