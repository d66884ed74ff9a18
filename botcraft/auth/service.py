"""Accounts: registration, the two ways to sign in, sessions. Never commits (the caller does)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from botcraft.auth import passwords, tokens
from botcraft.auth.telegram import TelegramIdentity
from botcraft.errors import Conflict, Unauthorized
from botcraft.i18n import N_
from botcraft.models import Session, User, utcnow

# Says nothing of whether the account exists; a newcomer is pointed to registration.
WRONG_CREDENTIALS = N_("Wrong e-mail or password. New here? Create an account first.")


@dataclass(frozen=True, slots=True)
class ClientInfo:
    ip: str | None
    user_agent: str | None


async def start_session(
    db: AsyncSession, user: User, *, secret: str, ttl_seconds: int, client: ClientInfo
) -> tokens.IssuedToken:
    issued = tokens.issue(user.id, secret, ttl_seconds)
    db.add(
        Session(
            id=issued.session_id,
            user_id=user.id,
            session_token=issued.token_hash,
            expires_at=issued.expires_at,
            ip=client.ip,
            user_agent=(client.user_agent or "")[:512] or None,
        )
    )
    await db.flush()
    return issued


async def register(db: AsyncSession, email: str, password: str, display_name: str | None) -> User:
    existing = await db.scalar(select(User.id).where(User.email == email))
    if existing is not None:
        raise Conflict("An account with this e-mail already exists; sign in instead.", code="email_taken")
    user = User(
        email=email,
        password_hash=await passwords.hash_password_async(password),
        display_name=display_name or email.split("@", 1)[0],
    )
    db.add(user)
    try:
        async with db.begin_nested():
            await db.flush()
    except IntegrityError as exc:  # a concurrent registration won the race
        raise Conflict("An account with this e-mail already exists; sign in instead.", code="email_taken") from exc
    return user


async def authenticate_email(db: AsyncSession, email: str, password: str) -> User:
    user = await db.scalar(select(User).where(User.email == email))
    stored = user.password_hash if user else None
    salt = user.salt if user else None
    if not await passwords.verify_password(stored, salt, password) or user is None:
        raise Unauthorized(WRONG_CREDENTIALS, code="wrong_credentials")
    if not user.is_active:
        raise Unauthorized("This account is disabled.", code="account_disabled")
    assert user.password_hash is not None
    if passwords.needs_rehash(user.password_hash, user.salt):
        # Legacy sha256+salt (or weaker Argon2 parameters): upgrade now that we know the password.
        user.password_hash = await passwords.hash_password_async(password)
        user.salt = None
    return user


async def telegram_user(db: AsyncSession, identity: TelegramIdentity, current: User | None) -> User:
    """The user for this Telegram account: found, created, or linked to `current`."""
    owner = await db.scalar(select(User).where(User.telegram_id == identity.telegram_id))
    if current is not None:
        if owner is not None and owner.id != current.id:
            raise Conflict(
                "This Telegram account is already linked to another BotCraft account.",
                code="telegram_already_linked",
            )
        current.telegram_id = identity.telegram_id
        current.telegram_username = identity.username
        current.display_name = current.display_name or identity.display_name
        return current
    if owner is not None:
        if not owner.is_active:
            raise Unauthorized("This account is disabled.", code="account_disabled")
        owner.telegram_username = identity.username
        owner.display_name = identity.display_name or owner.display_name
        return owner
    user = User(
        telegram_id=identity.telegram_id,
        telegram_username=identity.username,
        display_name=identity.display_name,
    )
    db.add(user)
    try:
        async with db.begin_nested():
            await db.flush()
    except IntegrityError:  # the same account signing in twice at once
        found = await db.scalar(select(User).where(User.telegram_id == identity.telegram_id))
        if found is None:
            raise
        return found
    return user


async def user_for_token(db: AsyncSession, token: str, secret: str) -> tuple[User, Session]:
    session_id = tokens.session_id_of(token, secret)
    if session_id is None:
        raise Unauthorized("Your session is invalid or has expired; please sign in again.", code="invalid_token")
    row = (
        await db.execute(
            select(Session, User).join(User, User.id == Session.user_id).where(Session.id == session_id)
        )
    ).first()
    if row is None:
        raise Unauthorized("Your session has ended; please sign in again.", code="session_not_found")
    session, user = row
    if session.session_token != tokens.token_hash(token):
        raise Unauthorized("Your session is invalid; please sign in again.", code="invalid_token")
    if session.revoked_at is not None:
        raise Unauthorized("You have signed out; please sign in again.", code="session_revoked")
    if session.expires_at <= utcnow():
        raise Unauthorized("Your session has expired; please sign in again.", code="session_expired")
    if not user.is_active:
        raise Unauthorized("This account is disabled.", code="account_disabled")
    return user, session


async def revoke(db: AsyncSession, session: Session) -> None:
    live = await db.get(Session, session.id)
    if live is not None and live.revoked_at is None:
        live.revoked_at = utcnow()
