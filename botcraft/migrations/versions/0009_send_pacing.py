"""Send pacing shared by every process: one row per bot and per chat, and the reserve function.

Revision ID: 0009
Revises: 0008

`botcraft_reserve_send()` (PostgreSQL only; SQLite deployments are one process and pace in
memory) takes the next send slot of a sender under its row lock, by the database's clock,
and only when the chat is free at that slot. It returns (reserved, at): with the slot taken,
send at `at` (epoch seconds); when the chat is busy, ask again at `at`. An absolute time and
not a wait, so that a slow round trip back to the caller does not move its send later.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

RESERVE = """
CREATE OR REPLACE FUNCTION botcraft_reserve_send(
    sender_key text, chat_key text, sender_interval double precision, chat_interval double precision
) RETURNS TABLE (reserved boolean, at double precision) LANGUAGE plpgsql AS $$
DECLARE
    sender_next double precision;
    chat_next double precision;
    now_s double precision;
    start_s double precision;
BEGIN
    INSERT INTO send_pacing (key, next_at) VALUES (sender_key, 0) ON CONFLICT (key) DO NOTHING;
    -- Always the sender's row first, then the chat's: one lock order, no deadlocks.
    SELECT next_at INTO sender_next FROM send_pacing WHERE key = sender_key FOR UPDATE;
    SELECT next_at INTO chat_next FROM send_pacing WHERE key = chat_key FOR UPDATE;
    -- Read after the locks: time spent waiting for them must not be counted as slack.
    now_s := extract(epoch FROM clock_timestamp());
    start_s := greatest(now_s, sender_next);
    IF chat_next IS NOT NULL AND chat_next > start_s THEN
        RETURN QUERY SELECT false, chat_next;
        RETURN;
    END IF;
    UPDATE send_pacing SET next_at = start_s + sender_interval WHERE key = sender_key;
    INSERT INTO send_pacing (key, next_at) VALUES (chat_key, start_s + chat_interval)
        ON CONFLICT (key) DO UPDATE SET next_at = EXCLUDED.next_at;
    RETURN QUERY SELECT true, start_s;
END
$$;
"""


def upgrade() -> None:
    op.create_table(
        "send_pacing",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("next_at", sa.Float(53), nullable=False),  # epoch seconds, the database's clock
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(RESERVE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS botcraft_reserve_send(text, text, double precision, double precision)")
    op.drop_table("send_pacing")
