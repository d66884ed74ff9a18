"""parse_whatsapp on every Cloud API sample, on the types the samples lack, and on junk."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from botcraft.channels.events import EventKind
from botcraft.channels.whatsapp.parse import parse_whatsapp
from tests.payload_fuzz import corrupted_copies

FIXTURES = Path(
    os.environ.get("BOTCRAFT_FIXTURES", Path(__file__).resolve().parents[3] / "shared/fixtures")
)
WHATSAPP = FIXTURES / "whatsapp"
PHONE_NUMBER_ID = "1122334455667"


def load(name: str) -> Any:
    return json.loads((WHATSAPP / name).read_text(encoding="utf-8"))


TEXT = {
    "kind": EventKind.MESSAGE,
    "event_id": "wamid.xyzxyz",
    "message_id": "wamid.xyzxyz",
    "route_key": PHONE_NUMBER_ID,
    "chat_id": "972987654321",
    "customer_name": "Test Name",
    "text": "Body Text",
    "timestamp": datetime(2023, 10, 11, 16, 53, 43, tzinfo=UTC),
}


def status(state: str, **more: Any) -> dict[str, Any]:
    return {
        "kind": EventKind.STATUS,
        "event_id": f"wamid.xyzxyz:{state}",
        "route_key": PHONE_NUMBER_ID,
        "chat_id": "972987654321",
        "status": state,
        "status_of": "wamid.xyzxyz",
        "text": None,
        **more,
    }


# One event per sample; None: the file is not a webhook payload (no events).
EXPECTED: dict[str, dict[str, Any] | None] = {
    "inbound_text.pywa.json": TEXT,
    "inbound_text.pywa.compact_raw_body.json": TEXT,
    "inbound_image.pywa.json": {
        "kind": EventKind.MEDIA,
        "media_kind": "image",
        "text": None,
        "event_id": "wamid.xyzxyz",
        "customer_name": "Test Name",
        "extra": {"type": "image", "media_id": "65463453", "media_mime_type": "image/jpeg"},
    },
    "inbound_reaction.pywa.json": {"kind": EventKind.IGNORED, "event_id": "wamid.xyzxyz"},
    "interactive_button_reply.pywa.json": {
        "kind": EventKind.MESSAGE,
        "text": "title",
        "event_id": "wamid.xyzxyz",
        "extra": {"type": "interactive", "context_id": "wamid.xyzxyz", "reply_id": "callback_data"},
    },
    "interactive_list_reply.pywa.json": {
        "kind": EventKind.MESSAGE,
        "text": "title",
        "event_id": "wamid.zyzxyz",
    },
    "template_quick_reply_button.pywa.json": {
        "kind": EventKind.MESSAGE,
        "text": "title",
        "event_id": "wamid.xsidjw",
        "extra": {
            "type": "button",
            "context_id": "wamid.xyzxyz==",
            "button_payload": "callback_data",
        },
    },
    "signed_text_message.pywa.raw_body.json": {
        "kind": EventKind.MESSAGE,
        "route_key": "277321005464405",
        "chat_id": "972544401243",
        "customer_name": "PyWa Tests",
        "text": "Hey there! I am using PyWa.",
        "event_id": (
            "wamid.HBgMOTcyNTQ0NDAxMjQzFQIAEhggM0RFQTNCMEEwRTY3QzUwODYzMDc4NjQ4QzM4ODAxM0YA"
        ),
    },
    "unicode_escaped_raw_body.synthetic.json": {
        "kind": EventKind.MESSAGE,
        "route_key": "1",
        "customer_name": None,  # no contacts[] in this body
        "text": "café äöå",
    },
    "status_sent.pywa.json": status("sent"),
    "status_delivered.pywa.json": status("delivered", error=None),
    "status_read.pywa.json": status("read"),
    "status_failed.pywa.json": status(
        "failed",
        error=(
            "User's number is part of an experiment: Failed to send message because this "
            "user's phone number is part of an experiment"
        ),
        extra={"error_code": "130472"},
        timestamp=datetime(2023, 7, 15, 0, 20, 58, tzinfo=UTC),
    ),
    "status_failed_131047.composed.json": status(
        "failed",
        error=(
            "Re-engagement message: Message failed to send because more than 24 hours have "
            "passed since the customer last replied to this number."
        ),
        extra={"error_code": "131047"},
    ),
    "api_requests_responses.json": None,
}


def test_every_sample_has_an_expectation() -> None:
    assert {p.name for p in WHATSAPP.glob("*.json")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture(name: str) -> None:
    events = parse_whatsapp(load(name))
    expected = EXPECTED[name]
    if expected is None:
        assert events == []
        return
    assert len(events) == 1
    event = events[0]
    assert event.channel == "whatsapp"
    for key, value in expected.items():
        assert getattr(event, key) == value, key


def test_raw_body_bytes_parse_the_same_as_the_pretty_file() -> None:
    raw = (WHATSAPP / "inbound_text.pywa.compact_raw_body.json").read_bytes()
    assert parse_whatsapp(json.loads(raw)) == parse_whatsapp(load("inbound_text.pywa.json"))


def with_message(message: dict[str, Any]) -> dict[str, Any]:
    payload = load("inbound_text.pywa.json")
    base = {"from": "972987654321", "id": "wamid.new", "timestamp": "1700000000"}
    payload["entry"][0]["changes"][0]["value"]["messages"] = [{**base, **message}]
    return payload


@pytest.mark.parametrize(
    ("message", "kind", "media_kind", "text"),
    [
        (
            {"type": "image", "image": {"id": "1", "caption": "Сколько стоит?"}},
            "message",
            "image",
            "Сколько стоит?",
        ),
        (
            {"type": "video", "video": {"id": "1", "caption": "Как тут?"}},
            "message",
            "video",
            "Как тут?",
        ),
        (
            {"type": "document", "document": {"id": "1", "caption": "Счёт", "filename": "a.pdf"}},
            "message",
            "document",
            "Счёт",
        ),
        (
            {"type": "document", "document": {"id": "1", "filename": "a.pdf"}},
            "media",
            "document",
            None,
        ),
        ({"type": "audio", "audio": {"id": "1", "voice": True}}, "media", "voice", None),
        ({"type": "audio", "audio": {"id": "1"}}, "media", "audio", None),
        ({"type": "sticker", "sticker": {"id": "1", "animated": False}}, "media", "sticker", None),
        ({"type": "sticker", "sticker": {"id": "1", "caption": "нет"}}, "media", "sticker", None),
        (
            {"type": "location", "location": {"latitude": 55.7, "longitude": 37.6}},
            "media",
            "location",
            None,
        ),
        (
            {"type": "contacts", "contacts": [{"name": {"formatted_name": "A"}}]},
            "media",
            "contact",
            None,
        ),
        (
            {"type": "unsupported", "errors": [{"code": 131051, "title": "Message type unknown"}]},
            "ignored",
            None,
            None,
        ),
        ({"type": "system", "system": {"body": "changed number"}}, "ignored", None, None),
        (
            {"type": "interactive", "interactive": {"type": "nfm_reply", "nfm_reply": {}}},
            "ignored",
            None,
            None,
        ),
        ({"type": "text", "text": {"body": "   "}}, "ignored", None, None),
        ({"type": "hologram", "hologram": {}}, "ignored", None, None),
    ],
)
def test_message_types(
    message: dict[str, Any], kind: str, media_kind: str | None, text: str | None
) -> None:
    [event] = parse_whatsapp(with_message(message))
    assert (event.kind.value, event.media_kind, event.text) == (kind, media_kind, text)
    assert event.event_id == "wamid.new" and event.chat_id == "972987654321"


def test_unsupported_message_keeps_its_error_code() -> None:
    message = {"type": "unsupported", "errors": [{"code": 131051, "title": "Message type unknown"}]}
    [event] = parse_whatsapp(with_message(message))
    assert event.extra["error_code"] == "131051"


def test_list_reply_description_is_kept() -> None:
    reply = {"id": "row-1", "title": "Доставка", "description": "по Москве"}
    message = {"type": "interactive", "interactive": {"type": "list_reply", "list_reply": reply}}
    [event] = parse_whatsapp(with_message(message))
    assert event.text == "Доставка"
    assert event.extra["reply_id"] == "row-1" and event.extra["reply_description"] == "по Москве"


def test_several_entries_messages_and_statuses_in_one_post() -> None:
    first = load("inbound_text.pywa.json")
    second = load("status_read.pywa.json")
    image = load("inbound_image.pywa.json")
    value = first["entry"][0]["changes"][0]["value"]
    value["messages"].append(image["entry"][0]["changes"][0]["value"]["messages"][0])
    value["statuses"] = second["entry"][0]["changes"][0]["value"]["statuses"]
    first["entry"].append(load("status_sent.pywa.json")["entry"][0])
    kinds = [(e.kind, e.event_id) for e in parse_whatsapp(first)]
    assert kinds == [
        (EventKind.MESSAGE, "wamid.xyzxyz"),
        (EventKind.MEDIA, "wamid.xyzxyz"),
        (EventKind.STATUS, "wamid.xyzxyz:read"),
        (EventKind.STATUS, "wamid.xyzxyz:sent"),
    ]


def test_name_matched_by_wa_id_among_several_contacts() -> None:
    payload = with_message({"type": "text", "text": {"body": "hi"}, "from": "2"})
    payload["entry"][0]["changes"][0]["value"]["contacts"] = [
        {"profile": {"name": "Один"}, "wa_id": "1"},
        {"profile": {"name": "Два"}, "wa_id": "2"},
    ]
    assert parse_whatsapp(payload)[0].customer_name == "Два"


@pytest.mark.parametrize(
    "payload",
    [
        {},
        [],
        None,
        "text",
        {"object": "instagram", "entry": []},
        {"object": "page"},
        {"object": "whatsapp_business_account"},
        {"object": "whatsapp_business_account", "entry": None},
        {"object": "whatsapp_business_account", "entry": [None, 1, "x", {"changes": "x"}]},
        {
            "object": "whatsapp_business_account",
            "entry": [{"changes": [{"field": "account_update", "value": {}}]}],
        },
        {
            "object": "whatsapp_business_account",
            "entry": [{"changes": [{"value": {"messages": [{"type": "text"}]}}]}],
        },
    ],
)
def test_not_a_message_payload_gives_no_events(payload: Any) -> None:
    assert parse_whatsapp(payload) == []


WEIRD: list[Any] = [None, 0, -1, 1.5, True, "", "x", [], [1, "a"], {}, {"id": None}, "nan"]


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if e is not None))
def test_garbage_inside_a_real_payload_never_raises(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    for payload in corrupted_copies(load(name), WEIRD, seed=name):
        for event in parse_whatsapp(payload):
            assert isinstance(event.event_id, str) and event.event_id
            assert all(isinstance(v, str) for v in event.extra.values())
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
