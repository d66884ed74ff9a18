from __future__ import annotations

from fastapi import APIRouter, Request, status

from botcraft.auth import service
from botcraft.auth.deps import CurrentPrincipal, CurrentUser, OptionalPrincipal, SettingsDep
from botcraft.auth.ratelimit import LoginLimiter
from botcraft.auth.schemas import (
    EmailCredentials,
    LimitsOut,
    MeOut,
    Registration,
    TelegramLogin,
    TokenOut,
    UserOut,
)
from botcraft.auth.telegram import InitDataError, validate_init_data
from botcraft.db import SessionDep
from botcraft.errors import AppError, Unauthorized
from botcraft.middleware import client_ip
from botcraft.models import User
from botcraft.openapi import errors

router = APIRouter(prefix="/api/auth", tags=["auth"])


def _limiter(request: Request) -> LoginLimiter:
    limiter: LoginLimiter = request.app.state.login_limiter
    return limiter


def _client(request: Request) -> service.ClientInfo:
    return service.ClientInfo(ip=client_ip(request.scope), user_agent=request.headers.get("user-agent"))


async def _token_response(
    db: SessionDep, request: Request, settings: SettingsDep, user: User
) -> TokenOut:
    await db.flush()
    issued = await service.start_session(
        db, user, secret=settings.jwt_secret_key, ttl_seconds=settings.session_ttl_seconds, client=_client(request)
    )
    return TokenOut(access_token=issued.token, expires_at=issued.expires_at, user=UserOut.model_validate(user))


@router.post("/register", status_code=status.HTTP_201_CREATED, response_model=TokenOut, responses=errors(409, 429))
async def register(body: Registration, request: Request, db: SessionDep, settings: SettingsDep) -> TokenOut:
    await _limiter(request).from_address("register", client_ip(request.scope))
    user = await service.register(db, body.email, body.password, body.display_name)
    return await _token_response(db, request, settings, user)


@router.post("/email", response_model=TokenOut, responses=errors(401, 429))
async def login_email(body: EmailCredentials, request: Request, db: SessionDep, settings: SettingsDep) -> TokenOut:
    await _limiter(request).sign_in(body.email, client_ip(request.scope))
    user = await service.authenticate_email(db, body.email, body.password)
    return await _token_response(db, request, settings, user)


@router.post("/telegram", response_model=TokenOut, responses=errors(401, 409, 429, 503))
async def login_telegram(
    body: TelegramLogin,
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: OptionalPrincipal,
) -> TokenOut:
    await _limiter(request).from_address("telegram", client_ip(request.scope))
    if not settings.telegram_token:
        raise AppError(
            "Telegram sign-in is not set up on this server (TELEGRAM_TOKEN is empty).",
            code="telegram_not_configured",
            status_code=503,
        )
    try:
        identity = validate_init_data(
            body.init_data, settings.telegram_token, max_age=settings.telegram_auth_max_age
        )
    except InitDataError as exc:
        raise Unauthorized(str(exc), code="invalid_init_data") from exc
    await _limiter(request).sign_in(f"tg:{identity.telegram_id}", client_ip(request.scope))
    current = await db.merge(principal.user) if principal else None
    user = await service.telegram_user(db, identity, current)
    return await _token_response(db, request, settings, user)


@router.post("/logout", status_code=status.HTTP_200_OK)
async def logout(principal: CurrentPrincipal, db: SessionDep) -> dict[str, bool]:
    await service.revoke(db, principal.session)
    return {"ok": True}


@router.get("/me", response_model=MeOut)
async def me(user: CurrentUser, settings: SettingsDep) -> MeOut:
    """The signed-in user, with the limits the web app shows ("3 of 5")."""
    limits = LimitsOut(max_agents_per_user=settings.max_agents_per_user, max_upload_mb=settings.max_upload_mb,
                       max_documents_per_agent=settings.max_documents_per_agent)
    return MeOut.model_validate({**UserOut.model_validate(user).model_dump(), "limits": limits})
