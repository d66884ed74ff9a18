from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from botcraft.i18n import N_
from botcraft.inputs import Input
from botcraft.language.synonyms import check_owner_lines
from botcraft.netguard import url_problem


class _AgentFields(Input):
    business_description: str = Field(default="", max_length=4000)
    capabilities: str = Field(default="", max_length=2000)
    tone: str = Field(default="", max_length=200)
    system_prompt: str | None = Field(default=None, max_length=8000)
    language: Literal["ru", "en"] | None = None
    llm_model: str | None = Field(default=None, max_length=100)
    llm_temperature: float | None = Field(default=None, ge=0, le=2)
    llm_base_url: str | None = Field(default=None, max_length=500)
    llm_api_key: str | None = Field(default=None, max_length=500)
    media_reply: str | None = Field(default=None, max_length=1000)
    # One group a line, members separated by commas: "парковка, стоянка, где оставить машину".
    synonyms: str | None = Field(default=None, max_length=10000)
    is_active: bool | None = None

    @field_validator("llm_base_url")
    @classmethod
    def _llm_base_url(cls, value: str | None) -> str | None:
        value = value.strip() if value else None
        problem = url_problem(value) if value else None
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("llm_api_key")
    @classmethod
    def _llm_api_key(cls, value: str | None) -> str | None:
        # Sent in an HTTP header: anything but visible ASCII would break every chat.
        value = value.strip() if value else None
        if value and not (value.isascii() and value.isprintable() and " " not in value):
            raise ValueError(N_("must contain only Latin letters, digits and punctuation, without spaces"))
        return value

    @field_validator("synonyms")
    @classmethod
    def _synonyms(cls, value: str | None) -> str | None:
        if value and (bad := check_owner_lines(value)):
            raise ValueError(N_("each line needs two or more words separated by commas: {line}").format(line=bad[0]))
        return value or ""  # null clears them


class AgentCreate(_AgentFields):
    name: str = Field(min_length=1, max_length=100)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError(N_("must not be blank"))
        return value


def _keep_when_left_out(schema: dict[str, Any]) -> None:
    # Left out means "keep the current value"; null is no value for these fields.
    schema.pop("default", None)


class AgentUpdate(_AgentFields):
    """Only the fields sent change. Null clears the optional settings (model, base URL, key,
    media reply, system prompt: regenerated); for the others it is refused with a 422.
    (Their default None only stands for "left out": it is never validated nor stored.)"""

    name: str = Field(default=None, min_length=1, max_length=100, json_schema_extra=_keep_when_left_out)  # type: ignore[assignment]
    business_description: str = Field(default=None, max_length=4000, json_schema_extra=_keep_when_left_out)  # type: ignore[assignment]
    capabilities: str = Field(default=None, max_length=2000, json_schema_extra=_keep_when_left_out)  # type: ignore[assignment]
    tone: str = Field(default=None, max_length=200, json_schema_extra=_keep_when_left_out)  # type: ignore[assignment]
    language: Literal["ru", "en"] = Field(default=None, json_schema_extra=_keep_when_left_out)  # type: ignore[arg-type]
    is_active: bool = Field(default=None, json_schema_extra=_keep_when_left_out)  # type: ignore[assignment]

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(N_("must not be blank"))
        return value.strip()


class LLMSettingsOut(BaseModel):
    model: str | None
    temperature: float | None
    base_url: str | None
    api_key: str | None  # masked


class AgentOut(BaseModel):
    id: int
    name: str
    business_description: str
    capabilities: str
    tone: str
    system_prompt: str
    language: str
    is_active: bool
    media_reply: str | None
    synonyms: str
    llm: LLMSettingsOut
    integrations: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class PromptOut(BaseModel):
    system_prompt: str
