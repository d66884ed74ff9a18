"""`CurrentUser`: the signed-in user, checked against the sessions table on every request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from botcraft.auth import service
from botcraft.config import Settings
from botcraft.db import get_db
from botcraft.errors import Unauthorized
from botcraft.models import Session, User

_bearer = HTTPBearer(auto_error=False, description="The access_token from a sign-in")


@dataclass(frozen=True, slots=True)
class Principal:
    user: User
    session: Session


async def get_settings_dep(request: Request) -> Settings:  # async: no thread-pool hand-off
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


async def _principal(
    request: Request,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    if credentials is None:
        return None
    # Its own short read transaction: the endpoint's unit of work (and, on SQLite, its
    # write lock) starts only when the endpoint needs it.
    async with get_db(request).transaction(write=False) as db:
        user, session = await service.user_for_token(db, credentials.credentials, settings.jwt_secret_key)
    return Principal(user, session)


async def _require(principal: Annotated[Principal | None, Depends(_principal)]) -> Principal:
    if principal is None:
        raise Unauthorized("Sign in first: this needs an Authorization: Bearer token.", code="not_authenticated")
    return principal


async def _user(principal: Annotated[Principal, Depends(_require)]) -> User:
    return principal.user


CurrentPrincipal = Annotated[Principal, Depends(_require)]
OptionalPrincipal = Annotated[Principal | None, Depends(_principal)]
CurrentUser = Annotated[User, Depends(_user)]
