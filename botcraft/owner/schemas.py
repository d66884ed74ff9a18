from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator, model_validator

from botcraft.i18n import N_
from botcraft.inputs import Input

MAX_PHRASINGS = 20


class AnswerIn(Input):
    """A Q&A pair: `question` (one phrasing) and/or `questions` (several), and the answer."""

    question: str | None = Field(None, max_length=500)
    questions: list[str] = Field(default_factory=list, max_length=MAX_PHRASINGS)
    answer: str = Field(min_length=1, max_length=4000)
    conversation_id: int | None = None

    @field_validator("questions")
    @classmethod
    def _phrasings(cls, value: list[str]) -> list[str]:
        if any(len(q) > 500 for q in value):
            raise ValueError(N_("each phrasing is at most 500 characters"))
        return value

    @field_validator("answer")
    @classmethod
    def _answer(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(N_("must not be blank"))
        return value.strip()

    @model_validator(mode="after")
    def _some_question(self) -> AnswerIn:
        if not [q for q in [self.question or "", *self.questions] if q.strip()]:
            raise ValueError(N_("give the question (at least one phrasing)"))
        return self

    def phrasings(self) -> list[str]:
        return [q for q in [self.question or "", *self.questions] if q.strip()]


class AnswerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    agent_id: int
    questions: list[str]
    answer: str
    conversation_id: int | None
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def question(self) -> str:
        return self.questions[0] if self.questions else ""


class SendIn(Input):
    conversation_ids: list[int] = Field(min_length=1, max_length=200)


class SendOut(BaseModel):
    sent: list[int]  # conversations that got the answer
    skipped: list[int]  # not this agent's, or no longer waiting


class WaitingCustomer(BaseModel):
    conversation_id: int
    customer_name: str | None
    channel: str


class UnansweredGroup(BaseModel):
    question: str  # the newest phrasing
    phrasings: list[str]
    count: int
    last_asked_at: datetime
    answer_id: int | None  # a pair saved since that answers it
    waiting: list[WaitingCustomer]  # customers still without an answer
    message_ids: list[int]


class UnansweredOut(BaseModel):
    groups: list[UnansweredGroup]
    total: int  # questions, over every group


class DayStats(BaseModel):
    date: str  # YYYY-MM-DD, UTC
    conversations: int
    customer_messages: int
    answered_by_bot: int
    handed_over: int
    answered_by_owner: int


class ChannelStats(BaseModel):
    channel: str
    conversations: int
    customer_messages: int
    handed_over: int


class TopQuestion(BaseModel):
    question: str
    count: int


class StatsOut(BaseModel):
    days: int
    since: datetime
    conversations: int
    customer_messages: int
    answered_by_bot: int
    handed_over: int
    answered_by_owner: int
    median_owner_reply_seconds: float | None
    per_day: list[DayStats]
    by_channel: list[ChannelStats]
    top_questions: list[TopQuestion]
