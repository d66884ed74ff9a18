"""The shared pacer's "move my late slot to now": `botcraft_retake_send_slot()`.

Revision ID: 0013
Revises: 0012

An answer stored with the slot of its instant (botcraft_reserve_send_now(), 0012) may find
the slot too late once the store is done, on a busy event loop (ratelimit.on_time). If no
slot was taken after it, by the sender or by the chat, moving it to this instant is safe:
the gap before it only grows and nothing comes after it. This function does that in one
round trip (the new time is returned, epoch seconds) and otherwise changes nothing (NULL).
Without it, the answer went back to `queued`, waited for a fresh slot and was marked
`sending` again: two writes and a reservation more. A row that is "free now" is taken as
botcraft_reserve_send_now() would take it.
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

RETAKE = """
CREATE OR REPLACE FUNCTION botcraft_retake_send_slot(
    sender_key text, chat_key text, slot_at double precision,
    sender_interval double precision, chat_interval double precision
) RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE
    sender_next double precision;
    chat_next double precision;
    now_s double precision;
BEGIN
    -- The lock order of botcraft_reserve_send(): the sender's row, then the chat's.
    SELECT next_at INTO sender_next FROM send_pacing WHERE key = sender_key FOR UPDATE;
    SELECT next_at INTO chat_next FROM send_pacing WHERE key = chat_key FOR UPDATE;
    now_s := extract(epoch FROM clock_timestamp());
    -- Equality is exact: botcraft_reserve_send_now() stored slot_at + interval from the same
    -- two doubles, and slot_at came back to the caller unchanged.
    IF (coalesce(sender_next, 0) > now_s AND sender_next <> slot_at + sender_interval)
       OR (coalesce(chat_next, 0) > now_s AND chat_next <> slot_at + chat_interval) THEN
        RETURN NULL;
    END IF;
    INSERT INTO send_pacing (key, next_at) VALUES (sender_key, now_s + sender_interval)
        ON CONFLICT (key) DO UPDATE SET next_at = EXCLUDED.next_at;
    INSERT INTO send_pacing (key, next_at) VALUES (chat_key, now_s + chat_interval)
        ON CONFLICT (key) DO UPDATE SET next_at = EXCLUDED.next_at;
    RETURN now_s;
END
$$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(RETAKE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS botcraft_retake_send_slot(text, text, double precision, "
                   "double precision, double precision)")
