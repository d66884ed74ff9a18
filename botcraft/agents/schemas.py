from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from botcraft.i18n import N_
from botcraft.netguard import url_problem


class _AgentFields(BaseModel):
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
        from botcraft.knowledge.synonyms import check_owner_lines

        if value and (bad := check_owner_lines(value)):
            raise ValueError(N_("each line needs two or more words separated by commas: {line}").format(line=bad[0]))
        return value


class AgentCreate(_AgentFields):
    name: str = Field(min_length=1, max_length=100)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError(N_("must not be blank"))
        return value


class AgentUpdate(_AgentFields):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    business_description: str | None = Field(default=None, max_length=4000)  # type: ignore[assignment]
    capabilities: str | None = Field(default=None, max_length=2000)  # type: ignore[assignment]
    tone: str | None = Field(default=None, max_length=200)  # type: ignore[assignment]

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError(N_("must not be blank"))
        return value.strip() if value else value


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
