"""Telegram long polling: one poller per bot token across all processes, held by a lease.

A supervisor in each `serve` process looks for enabled polling bots, takes the lease of
those nobody holds, and runs `getUpdates` for them. Each batch of updates is stored with
the new offset in one transaction, so a crash re-reads at most that batch, and the stored
events' uniqueness makes the re-read harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from datetime import timedelta
from typing import Any

import structlog
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramConflictError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from sqlalchemy import or_, select, update
from sqlalchemy.engine import Connection

from botcraft.backoff import backoff_seconds
from botcraft.channels.inbound import EventBatch, store_batches_in
from botcraft.channels.manager import ChannelManager, context_for
from botcraft.channels.telegram.channel import ALLOWED_UPDATES, TelegramChannel
from botcraft.models import Agent, ChannelState, utcnow
from botcraft.runtime import Runtime

log = structlog.get_logger("botcraft.telegram.polling")


class PollingSupervisor:
    def __init__(self, runtime: Runtime, manager: ChannelManager, *, poll_timeout: int = 25,
                 check_every: float = 5.0) -> None:
        self.runtime = runtime
        self.manager = manager
        self.channel: TelegramChannel = manager.get("telegram")  # type: ignore[assignment]
        self.poll_timeout = poll_timeout
        self.check_every = check_every
        self.lease_seconds = poll_timeout + 35
        self.owner = f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(3)}"
        self._pollers: dict[int, asyncio.Task[None]] = {}
        self._main: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._main = asyncio.create_task(self._supervise(), name="telegram polling supervisor")

    async def _supervise(self) -> None:
        while True:
            try:
                await self._sync()
            except Exception:  # noqa: BLE001 - the supervisor must survive a database hiccup
                log.exception("polling_supervisor_failed")
            self.manager.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.manager.changed.wait(), self.check_every)

    async def _sync(self) -> None:
        async with self.runtime.db.transaction(write=False) as session:
            wanted = set(await session.scalars(select(ChannelState.id).where(
                ChannelState.channel == "telegram", ChannelState.mode == "polling", ChannelState.enabled.is_(True))))
        for state_id, task in list(self._pollers.items()):
            if state_id not in wanted or task.done():
                task.cancel()
                self._pollers.pop(state_id, None)
        for state_id in wanted - set(self._pollers):
            if await self._take_lease(state_id):
                self._pollers[state_id] = asyncio.create_task(self._poll(state_id), name=f"poller {state_id}")

    async def _take_lease(self, state_id: int) -> bool:
        now = utcnow()
        async with self.runtime.db.transaction() as session:
            result = await session.execute(
                update(ChannelState)
                .where(ChannelState.id == state_id, ChannelState.enabled.is_(True),
                       or_(ChannelState.lease_owner.is_(None), ChannelState.lease_owner == self.owner,
                           ChannelState.lease_expires_at < now))
                .values(lease_owner=self.owner, lease_expires_at=now + timedelta(seconds=self.lease_seconds))
                .execution_options(synchronize_session=False)
            )
        return bool(getattr(result, "rowcount", 0))

    async def _load(self, state_id: int) -> tuple[Any, int | None] | None:
        async with self.runtime.db.transaction(write=False) as session:
            state = await session.get(ChannelState, state_id)
            agent = await session.get(Agent, state.agent_id) if state else None
        if state is None or agent is None or not state.enabled or state.mode != "polling":
            return None
        ctx = context_for(agent, "telegram", self.runtime.settings)
        return (ctx, state.polling_offset) if ctx else None

    async def _poll(self, state_id: int) -> None:
        failures = 0
        try:
            while await self._take_lease(state_id):
                loaded = await self._load(state_id)
                if loaded is None:
                    return
                ctx, offset = loaded
                bot = self.channel.bot(ctx.get("token"))
                try:
                    updates = await bot.get_updates(offset=offset, timeout=self.poll_timeout,
                                                    allowed_updates=ALLOWED_UPDATES,
                                                    request_timeout=self.poll_timeout + 10)
                    failures = 0
                except TelegramRetryAfter as exc:
                    await self._error(state_id, f"Telegram asked to wait {exc.retry_after} s.")
                    await asyncio.sleep(exc.retry_after)
                    continue
                except TelegramUnauthorizedError as exc:
                    await self._error(state_id, f"Telegram refused the bot token ({exc.message}); "
                                                "paste a new token from @BotFather.", disable=True)
                    return
                except TelegramConflictError as exc:
                    failures += 1
                    if "webhook" in exc.message.lower():
                        # Polling was chosen: a leftover webhook is ours to remove.
                        await self._error(state_id, "A webhook was still set; removed it to poll.")
                        with contextlib.suppress(TelegramAPIError, TelegramNetworkError):
                            await bot.delete_webhook(drop_pending_updates=False)
                    else:
                        await self._error(state_id, "Another program is polling this bot (Telegram: "
                                                    f"{exc.message}). Stop it, or BotCraft cannot receive messages.")
                    await asyncio.sleep(_backoff(failures))
                    continue
                except (TelegramNetworkError, TelegramServerError, TelegramAPIError) as exc:
                    failures += 1
                    await self._error(state_id, f"Telegram is unreachable: {exc}")
                    await asyncio.sleep(_backoff(failures))
                    continue
                if updates:
                    await self._store(state_id, ctx.agent_id, updates)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the supervisor starts a new poller
            # Nothing is lost (the offset only moves once updates are stored), but the owner
            # sees why messages stopped in the channel's status, not only the operator's log.
            log.exception("poller_crashed", state_id=state_id)
            with contextlib.suppress(Exception):
                await self._error(state_id, f"Receiving messages failed ({type(exc).__name__}); retrying.")
        finally:
            await self._release(state_id)

    async def _store(self, state_id: int, agent_id: int, updates: list[Any]) -> None:
        parsed = []
        for update_ in updates:
            raw = update_.model_dump(mode="json", by_alias=True, exclude_none=True)
            parsed.append((raw, self.channel.parse(raw)))
        offset = max(u.update_id for u in updates) + 1

        def unit(connection: Connection) -> int:
            new = sum(store_batches_in(connection, [EventBatch(agent_id, "telegram", events, raw=raw, touch=False)
                                                    for raw, events in parsed]))
            connection.execute(update(ChannelState).where(ChannelState.id == state_id)
                               .values(polling_offset=offset, last_error=None, last_event_at=utcnow()))
            return new

        if await self.runtime.db.run(unit):
            self.runtime.db.wakeup.notify()

    async def _error(self, state_id: int, message: str, *, disable: bool = False) -> None:
        log.warning("polling_error", state_id=state_id, error=message)
        values: dict[str, Any] = {"last_error": message, "last_error_at": utcnow()}
        if disable:
            values["enabled"] = False
        async with self.runtime.db.transaction() as session:
            await session.execute(update(ChannelState).where(ChannelState.id == state_id).values(**values)
                                  .execution_options(synchronize_session=False))

    async def _release(self, state_id: int) -> None:
        try:
            async with self.runtime.db.transaction() as session:
                await session.execute(
                    update(ChannelState).where(ChannelState.id == state_id, ChannelState.lease_owner == self.owner)
                    .values(lease_owner=None, lease_expires_at=None).execution_options(synchronize_session=False))
        except Exception:  # noqa: BLE001 - the lease then simply runs out
            log.warning("poller_lease_not_released", state_id=state_id, exc_info=True)

    async def aclose(self) -> None:
        if self._main is not None:
            self._main.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._main
        tasks = list(self._pollers.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._pollers.clear()


def _backoff(failures: int) -> float:
    return backoff_seconds(failures, base=2.0, cap=60.0)
