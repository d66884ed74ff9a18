from __future__ import annotations

from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, field_validator

from botcraft.auth.passwords import MAX_LENGTH, MIN_LENGTH
from botcraft.i18n import N_
from botcraft.inputs import Input


def normalise_email(value: str) -> str:
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(N_("is not a valid e-mail address")) from exc
    # One account per address whatever the capitalisation.
    return result.normalized.lower()


class EmailCredentials(Input):
    email: str = Field(max_length=320)
    password: str = Field(min_length=1, max_length=MAX_LENGTH)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return normalise_email(value)


class Registration(EmailCredentials):
    password: str = Field(min_length=MIN_LENGTH, max_length=MAX_LENGTH)
    display_name: str | None = Field(default=None, max_length=255)

    @field_validator("password")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(N_("must not be only spaces"))
        return value


class TelegramLogin(Input):
    init_data: str = Field(alias="initData", min_length=1, max_length=8192)
    model_config = ConfigDict(populate_by_name=True)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str | None
    telegram_id: int | None
    display_name: str | None
    telegram_username: str | None
    is_admin: bool
    created_at: datetime


class LimitsOut(BaseModel):
    max_agents_per_user: int
    max_upload_mb: int
    max_documents_per_agent: int


class MeOut(UserOut):
    limits: LimitsOut


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the scheme name, not a secret
    expires_at: datetime
    user: UserOut
