"""An owner's notification settings: on or off per agent, and linking Telegram."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram.exceptions import AiogramError
from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import select

from botcraft.agents.service import get_owned, list_for
from botcraft.auth.deps import CurrentUser, SettingsDep
from botcraft.db import RowId, SessionDep
from botcraft.errors import AppError, Conflict
from botcraft.inputs import Input
from botcraft.models import NotificationSetting
from botcraft.notifications.linking import make_token
from botcraft.notifications.telegram import platform_client
from botcraft.runtime import Runtime

router = APIRouter(tags=["notifications"])


class AgentNotifications(BaseModel):
    agent_id: RowId
    agent_name: str
    enabled: bool


class NotificationSettingsOut(BaseModel):
    telegram_linked: bool
    telegram_username: str | None
    email: str | None
    telegram_available: bool  # the platform's bot is configured
    email_available: bool  # SMTP is configured
    agents: list[AgentNotifications]


class EnabledIn(Input):
    enabled: bool


class TelegramLinkOut(BaseModel):
    url: str
    expires_at: datetime


@router.get("/api/notifications", response_model=NotificationSettingsOut)
async def notification_settings(user: CurrentUser, db: SessionDep, settings: SettingsDep) -> NotificationSettingsOut:
    agents = await list_for(db, user)
    off = set(await db.scalars(select(NotificationSetting.agent_id).where(
        NotificationSetting.user_id == user.id, NotificationSetting.enabled.is_(False))))
    return NotificationSettingsOut(
        telegram_linked=user.telegram_id is not None, telegram_username=user.telegram_username, email=user.email,
        telegram_available=bool(settings.telegram_token),
        email_available=bool(settings.smtp_url and settings.smtp_from),
        agents=[AgentNotifications(agent_id=a.id, agent_name=a.name, enabled=a.id not in off) for a in agents],
    )


@router.put("/api/agents/{agent_id}/notifications", response_model=AgentNotifications)
async def set_agent_notifications(agent_id: RowId, body: EnabledIn, user: CurrentUser, db: SessionDep
                                  ) -> AgentNotifications:
    agent = await get_owned(db, user, agent_id)
    setting = await db.scalar(select(NotificationSetting).where(
        NotificationSetting.user_id == user.id, NotificationSetting.agent_id == agent.id))
    if setting is None:
        setting = NotificationSetting(user_id=user.id, agent_id=agent.id)
        db.add(setting)
    setting.enabled = body.enabled
    await db.flush()
    return AgentNotifications(agent_id=agent.id, agent_name=agent.name, enabled=body.enabled)


@router.post("/api/notifications/telegram-link", response_model=TelegramLinkOut)
async def telegram_link(user: CurrentUser, request: Request, settings: SettingsDep) -> TelegramLinkOut:
    """A link that opens the platform's bot; pressing Start there links this account."""
    runtime: Runtime = request.app.state.runtime
    bot = platform_client(runtime)
    if bot is None:
        raise Conflict("The platform's Telegram bot is not set up on this server (TELEGRAM_TOKEN).",
                       code="platform_bot_not_configured")
    try:
        me = await bot.me()
    except AiogramError as exc:
        raise AppError("Telegram could not be reached; please try again in a minute.", code="telegram_unavailable",
                       status_code=503) from exc
    token, expires = make_token(settings.jwt_secret_key, user.id)
    return TelegramLinkOut(url=f"https://t.me/{me.username}?start={token}",
                           expires_at=datetime.fromtimestamp(expires, UTC))
