"""The shared pacer's fresh slot does not wait behind the slot its own send gave up.

Revision ID: 0014
Revises: 0013

A send that wakes up too late for its slot (a busy event loop) gives the slot up and takes a
fresh one (ratelimit.Pacer.wait). botcraft_reserve_send() (0009) counted the slot given up as
taken: the chat's next slot came a whole chat interval after it (1.26 s at one message a
second), although nothing was sent at it, and each late wake-up added another. The
2-second-model phase of bench/channels_e2e measured it on PostgreSQL: 403 of 1,100 answers
(the warm-up's included) waited, 2.4 s at the median (bench/README.md). The new `given_up` argument names that slot:
a sender or chat whose latest slot is still it (next_at is exactly given_up + interval, as
the reservation stored it) is free now. Slots taken after it are kept as they are.
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_TAKE = """
CREATE OR REPLACE FUNCTION botcraft_reserve_send(
    sender_key text, chat_key text, sender_interval double precision, chat_interval double precision{given_up_arg}
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
    SELECT next_at INTO chat_next FROM send_pacing WHERE key = chat_key FOR UPDATE;{release}
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

RESERVE = _TAKE.format(
    given_up_arg=",\n    given_up double precision DEFAULT NULL",
    release="""
    -- The slot given up is still the latest: nothing was sent at it, nothing waits after it.
    IF sender_next = given_up + sender_interval THEN
        sender_next := 0;
    END IF;
    IF chat_next = given_up + chat_interval THEN
        chat_next := NULL;
    END IF;""",
)
RESERVE_0009 = _TAKE.format(given_up_arg="", release="")
_OLD = "botcraft_reserve_send(text, text, double precision, double precision)"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {_OLD}")  # else a four-argument call would match both
        op.execute(RESERVE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS botcraft_reserve_send(text, text, double precision, double precision, "
                   "double precision)")
        op.execute(RESERVE_0009)
