"""`botcraft_reserve_send()` also says whether the slot waited for its sender.

Revision ID: 0012
Revises: 0011

A slot that was free at once (the sender below its rate) is sent even when the answer comes
back late, within the chat's slack (channels.ratelimit): asking again would be late by the
same round trip. Only a slot that waited behind the sender's others is given up when late.
The function's result gains a column, so it is dropped and created again (PostgreSQL only).
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_DROP = "DROP FUNCTION IF EXISTS botcraft_reserve_send(text, text, double precision, double precision)"

RESERVE = """
CREATE FUNCTION botcraft_reserve_send(
    sender_key text, chat_key text, sender_interval double precision, chat_interval double precision
) RETURNS TABLE (reserved boolean, at double precision, waited boolean) LANGUAGE plpgsql AS $$
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
        RETURN QUERY SELECT false, chat_next, true;
        RETURN;
    END IF;
    UPDATE send_pacing SET next_at = start_s + sender_interval WHERE key = sender_key;
    INSERT INTO send_pacing (key, next_at) VALUES (chat_key, start_s + chat_interval)
        ON CONFLICT (key) DO UPDATE SET next_at = EXCLUDED.next_at;
    RETURN QUERY SELECT true, start_s, start_s > now_s;
END
$$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_DROP)
        op.execute(RESERVE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_DROP)
        # 0009's function: the same without the third column.
        op.execute(RESERVE.replace(", waited boolean", "").replace("chat_next, true;", "chat_next;")
                   .replace("start_s, start_s > now_s;", "start_s;"))
