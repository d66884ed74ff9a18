"""The `notify_owner` job: deliver a notice, or bring a sent one up to date (edit in place).

The first job of a notice sends it: by the platform's bot to an owner with a linked
Telegram account, else by e-mail. Later jobs only edit the Telegram message, so a burst of
customer messages never becomes a burst of notifications. Sends are paced to Telegram's
limits (30 a second per bot, one a second per chat) and a 429 waits its retry_after.
"""

from __future__ import annotations

from typing import Any

import structlog
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiosmtplib import SMTPException
from sqlalchemy import func, select, update

from botcraft.channels.ratelimit import SendPacer
from botcraft.jobs.kinds import NOTIFY_OWNER
from botcraft.jobs.queue import ClaimedJob, enqueue
from botcraft.jobs.registry import RetryLater
from botcraft.metrics.instruments import NOTIFICATIONS
from botcraft.models import Agent, Conversation, Message, Notification, User, utcnow
from botcraft.notifications.mail import MailNotConfigured, send_mail
from botcraft.notifications.schedule import MAX_ATTEMPTS
from botcraft.notifications.telegram import conversation_url, notice_keyboard, platform_client
from botcraft.notifications.texts import NoticeView, language_of, notice_email, notice_html
from botcraft.runtime import Runtime

log = structlog.get_logger("botcraft.notifications")

NO_WAY = "The owner has neither a linked Telegram account nor an e-mail address SMTP can reach."


def owner_language(user: User) -> str:
    # The user's saved language once accounts have one; Russian until then.
    return language_of(getattr(user, "language", None))


def _pacer(runtime: Runtime) -> SendPacer:
    if runtime.notify_pacer is None:
        runtime.notify_pacer = SendPacer()
    return runtime.notify_pacer


async def _view(session: Any, notice: Notification) -> tuple[NoticeView, User, Conversation] | None:
    conversation = await session.get(Conversation, notice.conversation_id)
    agent = await session.get(Agent, notice.agent_id)
    user = await session.get(User, notice.user_id)
    if conversation is None or agent is None or user is None:
        return None
    question = await session.get(Message, notice.message_id) if notice.message_id else None
    bot_reply = None
    if question is not None:
        bot_reply = await session.scalar(select(Message.text).where(
            Message.reply_to_id == question.id, Message.author == "bot"))
    after = Message.id > (question.id if question is not None else 0)
    customer = (Message.conversation_id == conversation.id) & (Message.direction == "in") & after
    further = int(await session.scalar(select(func.count()).select_from(Message).where(customer)) or 0)
    latest = await session.scalar(select(Message.text).where(customer).order_by(Message.id.desc()).limit(1))
    view = NoticeView(
        agent_name=agent.name, channel=conversation.channel, customer_name=conversation.customer_name,
        customer_username=conversation.customer_username, kind=notice.kind,
        question=question.text if question is not None else None, bot_reply=bot_reply,
        further_count=further, latest_text=latest, human_mode=conversation.mode == "human",
        resolved=notice.open_conversation_id is None,
    )
    return view, user, conversation


async def give_up_notice(runtime: Runtime, payload: dict[str, Any], error: str) -> None:
    """Every attempt failed (Telegram or SMTP down for long): the notice shows as failed, and
    stays open, so the inbox's flag and counter still lead the owner to the conversation."""
    if not payload.get("first"):
        return  # an edit that could not be made changes nothing the owner relies on
    async with runtime.db.transaction() as session:
        notice = await session.get(Notification, int(payload["notification_id"]))
        if notice is not None and notice.state == "pending":
            notice.state, notice.error = "failed", error[:1000]
    log.warning("owner_notice_given_up", notification_id=payload.get("notification_id"), error=error[:200])


async def notify_owner(runtime: Runtime, job: ClaimedJob) -> None:
    notification_id = int(job.payload["notification_id"])
    async with runtime.db.transaction() as session:
        notice = await session.get(Notification, notification_id)
        if notice is None:
            return
        if not job.payload.get("first"):
            if notice.state == "pending":
                return  # the first delivery is on its way; once sent, it queues this update again
            # Cleared before rendering: a change after this point queues the next update.
            await session.execute(update(Notification).where(Notification.id == notice.id)
                                  .values(update_queued=False))
        elif notice.state != "pending":
            return  # delivered by an earlier run of this job
        found = await _view(session, notice)
        if found is None:
            return
        view, user, conversation = found
        state, channel, chat_id, message_id = notice.state, notice.channel, notice.platform_chat_id, \
            notice.platform_message_id
        telegram_id, email = user.telegram_id, user.email
    language = owner_language(user)
    url = conversation_url(runtime.settings.public_base_url, conversation.id)
    if state == "pending":
        await _deliver(runtime, notification_id, view, language, url, telegram_id, email)
    elif channel == "telegram" and chat_id is not None and message_id is not None:
        await _edit(runtime, notification_id, view, language, url, chat_id, message_id)


async def _deliver(runtime: Runtime, notification_id: int, view: NoticeView, language: str, url: str | None,
                   telegram_id: int | None, email: str | None) -> None:
    bot = platform_client(runtime)
    error: str | None = None
    if bot is not None and telegram_id is not None:
        await _pacer(runtime).wait("platform", str(telegram_id), per_sender=runtime.settings.telegram_rate_per_bot,
                                   per_chat=runtime.settings.telegram_rate_per_chat)
        try:
            sent = await bot.send_message(
                telegram_id, notice_html(view, language), parse_mode="HTML",
                reply_markup=notice_keyboard(notification_id, url, human_mode=view.human_mode,
                                             resolved=view.resolved, language=language))
        except TelegramRetryAfter as exc:
            raise RetryLater("Telegram asks to wait", seconds=float(exc.retry_after)) from exc
        except (TelegramForbiddenError, TelegramBadRequest) as exc:
            # Never started the platform bot, or blocked it: e-mail is the way left.
            error = f"Telegram: {exc.message}"
        else:
            await _mark(runtime, notification_id, state="sent", channel="telegram", chat_id=sent.chat.id,
                        message_id=sent.message_id)
            log.info("owner_notified", notification_id=notification_id, channel="telegram")
            return
    if email and runtime.settings.smtp_url:
        subject, body = notice_email(view, language, url)
        try:
            await send_mail(runtime.settings, email, subject, body)
        except (SMTPException, OSError) as exc:
            raise RetryLater(f"SMTP: {exc}") from exc
        except MailNotConfigured as exc:
            error = str(exc)
        else:
            await _mark(runtime, notification_id, state="sent", channel="email")
            log.info("owner_notified", notification_id=notification_id, channel="email")
            return
    await _mark(runtime, notification_id, state="failed", error=error or NO_WAY)
    log.warning("owner_not_notified", notification_id=notification_id, error=error or NO_WAY)


async def _edit(runtime: Runtime, notification_id: int, view: NoticeView, language: str, url: str | None,
                chat_id: int, message_id: int) -> None:
    bot = platform_client(runtime)
    if bot is None:
        return
    await _pacer(runtime).wait("platform", str(chat_id), per_sender=runtime.settings.telegram_rate_per_bot,
                               per_chat=runtime.settings.telegram_rate_per_chat)
    try:
        await bot.edit_message_text(
            notice_html(view, language), chat_id=chat_id, message_id=message_id, parse_mode="HTML",
            reply_markup=notice_keyboard(notification_id, url, human_mode=view.human_mode, resolved=view.resolved,
                                         language=language))
    except TelegramRetryAfter as exc:
        raise RetryLater("Telegram asks to wait", seconds=float(exc.retry_after)) from exc
    except TelegramAPIError as exc:
        # "message is not modified", or deleted by the owner: nothing left to update.
        log.info("notice_not_edited", notification_id=notification_id, error=exc.message)


async def _mark(runtime: Runtime, notification_id: int, *, state: str, channel: str | None = None,
                chat_id: int | None = None, message_id: int | None = None, error: str | None = None) -> None:
    async with runtime.db.transaction() as session:
        notice = await session.scalar(select(Notification).where(Notification.id == notification_id)
                                      .with_for_update().execution_options(populate_existing=True))
        if notice is None:
            return
        notice.state, notice.error = state, error
        NOTIFICATIONS.labels(channel or notice.channel or "none", state).inc()
        if channel:
            notice.channel, notice.sent_at = channel, utcnow()
        if chat_id is not None:
            notice.platform_chat_id, notice.platform_message_id = chat_id, message_id
        if state == "sent" and notice.update_queued:
            # Something changed while it was on its way (the update job left it for now).
            enqueue(session, NOTIFY_OWNER, {"notification_id": notice.id}, max_attempts=MAX_ATTEMPTS)
