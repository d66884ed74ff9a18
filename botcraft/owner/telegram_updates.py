"""The platform bot's updates that belong to an owner: replies to notices, their buttons, linking.

- A *reply* to a notice goes to that customer, on their channel, through the one sender.
- "Отвечу сам" / "Вернуть боту" switch the conversation's mode; "Запомнить ответ" saves
  the question and the owner's reply as a Q&A pair.
- "/start link-..." links the account that made the link to this Telegram account.

Only the agent's owner, from the Telegram account linked to them, can do any of it; anyone
else gets a polite refusal and nothing is sent or changed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from aiogram.exceptions import AiogramError
from aiogram.types import InlineKeyboardMarkup, ReplyParameters
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from botcraft.dialogue import service as dialogue
from botcraft.knowledge import answers
from botcraft.models import Agent, Conversation, Message, Notification, OwnerAnswer, User
from botcraft.notifications.linking import PREFIX as LINK_PREFIX
from botcraft.notifications.linking import user_of
from botcraft.notifications.tasks import owner_language
from botcraft.notifications.telegram import (
    HAND_BACK,
    REMEMBER,
    TAKE_OVER,
    parse_callback,
    platform_client,
    remember_keyboard,
)
from botcraft.notifications.texts import DEFAULT_LANGUAGE, word
from botcraft.runtime import Runtime

log = structlog.get_logger("botcraft.owner")
_STORE_WAITS, _STORE_WAIT_SECONDS = 10, 0.2


class OwnerUpdates:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def handle(self, update: dict[str, Any]) -> bool:
        """True when the update was an owner's (answered here); False leaves it to the welcome."""
        if isinstance(update.get("callback_query"), dict):
            await self._button(update["callback_query"])
            return True
        message = update.get("message")
        if not isinstance(message, dict) or (message.get("chat") or {}).get("type") != "private":
            return False
        sender = (message.get("from") or {}).get("id")
        chat_id = (message.get("chat") or {}).get("id")
        if not isinstance(sender, int) or not isinstance(chat_id, int):
            return False
        text = message.get("text") or ""
        command, _, argument = text.partition(" ")
        if command == "/start" and argument.strip().startswith(LINK_PREFIX):
            await self._link(chat_id, message.get("from") or {}, argument.strip())
            return True
        replied = message.get("reply_to_message")
        if isinstance(replied, dict) and isinstance(replied.get("message_id"), int):
            from_bot = bool((replied.get("from") or {}).get("is_bot"))
            await self._reply(chat_id, sender, int(message["message_id"]), replied["message_id"], text,
                              from_bot=from_bot)
            return True
        return False

    # --- answering a customer ----------------------------------------------------------

    async def _reply(self, chat_id: int, sender: int, message_id: int, replied_id: int, text: str,
                     *, from_bot: bool) -> None:
        language, outcome, owner_message_id = DEFAULT_LANGUAGE, "no_notice", None
        # A reply to our message that no notice names yet: its id is stored a moment after the
        # send returns, so a very quick reply waits for it (a few tenths of a second at most).
        for _ in range(_STORE_WAITS if from_bot else 0):
            async with self.runtime.db.transaction(write=False) as session:
                if await session.scalar(select(Notification.id).where(
                        Notification.platform_chat_id == chat_id, Notification.platform_message_id == replied_id)):
                    break
            await asyncio.sleep(_STORE_WAIT_SECONDS)
        async with self.runtime.db.transaction() as session:
            notice = await session.scalar(select(Notification).where(
                Notification.platform_chat_id == chat_id, Notification.platform_message_id == replied_id))
            found = await _owned(session, notice, sender) if notice is not None else None
            if notice is not None and found is None:
                outcome = "not_yours"
            elif found is not None:
                user, conversation = found
                language = owner_language(user)
                if not text.strip():
                    outcome = "empty_reply"
                else:
                    reply = await dialogue.owner_reply(session, conversation, text.strip()[:4000])
                    outcome, owner_message_id = "sent", reply.id
        if outcome == "not_yours":
            log.warning("owner_reply_refused", chat_id=chat_id)
        markup = remember_keyboard(owner_message_id, language) if owner_message_id is not None else None
        await self._say(chat_id, word(outcome, language), reply_to=message_id, markup=markup)

    # --- the buttons -------------------------------------------------------------------

    async def _button(self, query: dict[str, Any]) -> None:
        sender = (query.get("from") or {}).get("id")
        parsed = parse_callback(query.get("data"))
        language, outcome = DEFAULT_LANGUAGE, "not_yours"
        if parsed is not None and isinstance(sender, int):
            action, item_id = parsed
            async with self.runtime.db.transaction() as session:
                if action in (TAKE_OVER, HAND_BACK):
                    notice = await session.get(Notification, item_id)
                    found = await _owned(session, notice, sender) if notice is not None else None
                    if found is not None:
                        user, conversation = found
                        language = owner_language(user)
                        await dialogue.set_mode(session, conversation, "human" if action == TAKE_OVER else "bot")
                        outcome = "taken_over" if action == TAKE_OVER else "handed_back"
                elif action == REMEMBER:
                    language, outcome = await _remember(session, item_id, sender)
        bot = platform_client(self.runtime)
        if bot is not None and query.get("id"):
            try:
                await bot.answer_callback_query(str(query["id"]), text=word(outcome, language), show_alert=False)
            except AiogramError as exc:
                log.info("owner_button_answer_failed", error=str(exc))

    # --- linking -----------------------------------------------------------------------

    async def _link(self, chat_id: int, person: dict[str, Any], token: str) -> None:
        user_id = user_of(self.runtime.settings.jwt_secret_key, token)
        outcome, language = "link_invalid", DEFAULT_LANGUAGE
        async with self.runtime.db.transaction() as session:
            user = await session.get(User, user_id) if user_id is not None else None
            if user is not None:
                language = owner_language(user)
                taken = await session.scalar(select(User.id).where(User.telegram_id == person.get("id"),
                                                                   User.id != user.id))
                if taken is not None:
                    outcome = "link_taken"
                else:
                    user.telegram_id = int(person["id"])
                    if isinstance(person.get("username"), str):
                        user.telegram_username = person["username"]
                    outcome = "linked"
        await self._say(chat_id, word(outcome, language))

    async def _say(self, chat_id: int, text: str, *, reply_to: int | None = None,
                   markup: InlineKeyboardMarkup | None = None) -> None:
        bot = platform_client(self.runtime)
        if bot is None:
            return
        try:
            await bot.send_message(
                chat_id, text, reply_markup=markup,
                reply_parameters=ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
                if reply_to else None)
        except AiogramError as exc:
            log.info("owner_reply_not_sent", error=str(exc))


async def _owned(session: AsyncSession, notice: Notification | None, sender: int
                 ) -> tuple[User, Conversation] | None:
    """The notice's owner and conversation, if `sender` is that owner's Telegram account now."""
    if notice is None:
        return None
    user = await session.get(User, notice.user_id)
    conversation = await session.get(Conversation, notice.conversation_id)
    agent = await session.get(Agent, conversation.agent_id) if conversation is not None else None
    if user is None or conversation is None or agent is None or not user.is_active:
        return None
    if user.telegram_id != sender or agent.user_id != user.id:
        return None
    return user, conversation


async def _remember(session: AsyncSession, owner_message_id: int, sender: int) -> tuple[str, str]:
    """Save the customer's question and the owner's reply as a pair; (language, outcome)."""
    reply = await session.get(Message, owner_message_id)
    if reply is None or reply.author != "owner":
        return DEFAULT_LANGUAGE, "nothing_to_remember"
    conversation = await session.get(Conversation, reply.conversation_id)
    agent = await session.get(Agent, reply.agent_id)
    owner = await session.get(User, agent.user_id) if agent is not None else None
    if conversation is None or agent is None or owner is None or owner.telegram_id != sender:
        return DEFAULT_LANGUAGE, "not_yours"
    language = owner_language(owner)
    question = await question_answered_by(session, reply)
    if question is None:
        return language, "nothing_to_remember"
    saved = await session.scalar(select(OwnerAnswer.id).where(
        OwnerAnswer.agent_id == agent.id, OwnerAnswer.conversation_id == conversation.id,
        OwnerAnswer.answer == reply.text.strip()))
    if saved is not None:
        return language, "already_remembered"
    await answers.create_answer(session, agent, [question.text], reply.text, conversation_id=conversation.id)
    return language, "remembered"


async def question_answered_by(session: AsyncSession, reply: Message) -> Message | None:
    """The customer's question an owner's reply answers.

    The last handed-over question since the owner's previous reply (the one they were told
    about), else the customer's last message before the reply.
    """
    same = (Message.conversation_id == reply.conversation_id) & (Message.id < reply.id)
    previous = await session.scalar(select(func.max(Message.id)).where(same, Message.author == "owner"))
    before = same & (Message.direction == "in")
    handed = await session.scalar(select(Message).where(before, Message.handed_over.is_(True),
                                                        Message.id > (previous or 0))
                                  .order_by(Message.id.desc()).limit(1))
    return handed or await session.scalar(select(Message).where(before).order_by(Message.id.desc()).limit(1))
