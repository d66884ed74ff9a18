"""The shared pacer's "this instant or not at all": `botcraft_reserve_send_now()`.

Revision ID: 0012
Revises: 0011

The message path asks, just before it stores an answer, whether the sender and the chat are
both free this instant (ratelimit.Pacer.reserve_now). In the process (SQLite) that is a
lookup; on PostgreSQL it is this function: one round trip that takes the slot at the
database's clock only when neither row is waiting for a later one (its time, epoch seconds,
is returned), and otherwise changes nothing (NULL). The answer then goes out straight after
its store, instead of taking a slot with botcraft_reserve_send() afterwards (a round trip,
and more on a busy event loop: each slot woken up too late is given up and taken again).
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

RESERVE_NOW = """
CREATE OR REPLACE FUNCTION botcraft_reserve_send_now(
    sender_key text, chat_key text, sender_interval double precision, chat_interval double precision
) RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE
    sender_next double precision;
    chat_next double precision;
    now_s double precision;
BEGIN
    INSERT INTO send_pacing (key, next_at) VALUES (sender_key, 0) ON CONFLICT (key) DO NOTHING;
    -- The lock order of botcraft_reserve_send(): the sender's row, then the chat's.
    SELECT next_at INTO sender_next FROM send_pacing WHERE key = sender_key FOR UPDATE;
    SELECT next_at INTO chat_next FROM send_pacing WHERE key = chat_key FOR UPDATE;
    now_s := extract(epoch FROM clock_timestamp());
    IF sender_next > now_s OR coalesce(chat_next, 0) > now_s THEN
        RETURN NULL;
    END IF;
    UPDATE send_pacing SET next_at = now_s + sender_interval WHERE key = sender_key;
    INSERT INTO send_pacing (key, next_at) VALUES (chat_key, now_s + chat_interval)
        ON CONFLICT (key) DO UPDATE SET next_at = EXCLUDED.next_at;
    RETURN now_s;
END
$$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(RESERVE_NOW)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS botcraft_reserve_send_now(text, text, double precision, double precision)")
