"""The `dialogue_turn` job: answer one inbound customer message."""

from __future__ import annotations

from botcraft.dialogue.engine import answer_message
from botcraft.jobs.queue import ClaimedJob
from botcraft.jobs.registry import handler
from botcraft.runtime import Runtime

DIALOGUE_TURN = "dialogue_turn"


@handler(DIALOGUE_TURN)
async def dialogue_turn(runtime: Runtime, job: ClaimedJob) -> None:
    await answer_message(runtime, int(job.payload["message_id"]), job=job)
