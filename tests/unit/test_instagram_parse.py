"""parse_instagram on every sample (both webhook shapes), on what the samples lack, on junk."""

from __future__ import annotations

import copy
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from botcraft.channels.events import EventKind
from botcraft.channels.instagram.parse import parse_instagram
from tests.payload_fuzz import corrupted_copies

FIXTURES = Path(
    os.environ.get("BOTCRAFT_FIXTURES", Path(__file__).resolve().parents[3] / "shared/fixtures")
)
INSTAGRAM = FIXTURES / "instagram"
UNSUPPORTED_MID = (
    "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDUyNjkxNjAwMDk4OjM0MDI4MjM2Njg0MTcxMDMwMDk0OT"
    "EyODUyNTYwOTEwODQ0ODU4MjozMDc2OTU4MTA5OTY0OTI5MzAzMjAwODc1MDUxMTE2MTM0NAZDZD"
)


def load(name: str) -> Any:
    return json.loads((INSTAGRAM / name).read_text(encoding="utf-8"))


# One event per sample; None: an outbound request body, not a webhook (no events).
EXPECTED: dict[str, dict[str, Any] | None] = {
    "ig_text_message.meta_docs_placeholder.json": {
        "kind": EventKind.MESSAGE,
        "event_id": "MESSAGE-ID",
        "message_id": "MESSAGE-ID",
        "route_key": "IGID",
        "chat_id": "IGSID",
        "text": "MESSAGE-TEXT",
        "timestamp": datetime(2019, 9, 23, 18, 14, 45, 349000, tzinfo=UTC),
    },
    "ig_text_message.chatwoot.json": {
        "kind": EventKind.MESSAGE,
        "event_id": "message-id-1",
        "route_key": "instagram-message-id-123",
        "chat_id": "Sender-id-1",
        "text": "This is the first message from the customer",
        "timestamp": datetime(2021, 9, 8, 6, 34, 4, tzinfo=UTC),  # ISO string in the factory
    },
    "ig_attachment_unsupported.restfb.json": {
        "kind": EventKind.MEDIA,
        "media_kind": "unsupported",
        "event_id": UNSUPPORTED_MID,
        "route_key": "17841452691600098",
        "chat_id": "5614879045272581",
        "text": None,
        "timestamp": datetime(2022, 11, 9, 19, 32, 13, 735000, tzinfo=UTC),
    },
    "ig_echo_story_mention.chatwoot.json": {
        "kind": EventKind.IGNORED,
        "event_id": "echo:message-id-1",  # the bare mid is our outbound message's id
        "chat_id": "chatwoot-app-user-id-1",  # the customer is the echo's recipient
        "extra": {"reason": "echo"},
    },
    "ig_messaging_seen.restfb.json": {
        "kind": EventKind.IGNORED,
        "chat_id": "5614879045272581",
        "message_id": None,
        "extra": {"reason": "read"},
    },
    "ig_unsend_deleted.chatwoot.json": {
        "kind": EventKind.IGNORED,
        "event_id": "deleted:message-id-to-delete",
        "extra": {"reason": "deleted"},
    },
    "ig_standby_text.chatwoot.json": {
        "kind": EventKind.IGNORED,
        "event_id": "standby:message-id-1",
        "text": None,
        "extra": {"reason": "standby"},
    },
    "ig_meta_dashboard_test_messaging_format.chatwoot.json": {
        "kind": EventKind.IGNORED,
        "route_key": "0",
        "chat_id": "12334",
        "extra": {"reason": "meta_dashboard_test"},
    },
    "ig_meta_dashboard_test_changes_format.chatwoot.json": {
        "kind": EventKind.IGNORED,
        "route_key": "0",
        "chat_id": "12334",
        "timestamp": datetime(2018, 5, 27, 22, 23, 44, tzinfo=UTC),  # "1527459824": seconds
        "extra": {"reason": "meta_dashboard_test"},
    },
    "messenger_page_echo.restfb.json": {
        "kind": EventKind.IGNORED,
        "event_id": "echo:mid.1457764197618:41d102a3e1ae206a38",
        "route_key": "12345654332",  # numeric ids become strings
        "chat_id": "987654321432",
    },
    "send_request_text.json": None,
    "send_request_text_human_agent_tag.json": None,
}


def test_every_sample_has_an_expectation() -> None:
    assert {p.name for p in INSTAGRAM.glob("*.json")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture(name: str) -> None:
    events = parse_instagram(load(name))
    expected = EXPECTED[name]
    if expected is None:
        assert events == []
        return
    assert len(events) == 1
    event = events[0]
    assert event.channel == "instagram"
    for key, value in expected.items():
        assert getattr(event, key) == value, key


def test_dashboard_test_is_recognised_in_both_shapes_with_one_stable_id() -> None:
    [a] = parse_instagram(load("ig_meta_dashboard_test_messaging_format.chatwoot.json"))
    [b] = parse_instagram(load("ig_meta_dashboard_test_changes_format.chatwoot.json"))
    assert a.event_id == b.event_id and a.event_id.startswith("h:")


def test_changes_shape_with_a_real_message_is_answered() -> None:
    payload = load("ig_meta_dashboard_test_changes_format.chatwoot.json")
    value = payload["entry"][0]["changes"][0]["value"]
    value["sender"]["id"], value["recipient"]["id"] = "5614879045272581", "17841452691600098"
    value["message"] = {"mid": "aWdf-real", "text": "Здравствуйте, есть доставка?"}
    [event] = parse_instagram(payload)
    assert (event.kind, event.event_id, event.text) == (
        EventKind.MESSAGE,
        "aWdf-real",
        "Здравствуйте, есть доставка?",
    )


def messaging(event: dict[str, Any]) -> dict[str, Any]:
    base = {
        "sender": {"id": "5614879045272581"},
        "recipient": {"id": "17841452691600098"},
        "timestamp": 1668022333735,
    }
    return {
        "object": "instagram",
        "entry": [{"id": "17841452691600098", "time": 1, "messaging": [{**base, **event}]}],
    }


@pytest.mark.parametrize(
    ("message", "kind", "media_kind"),
    [
        ({"attachments": [{"type": "image", "payload": {"url": "https://x"}}]}, "media", "image"),
        ({"attachments": [{"type": "audio", "payload": {}}]}, "media", "audio"),
        ({"attachments": [{"type": "file", "payload": {}}]}, "media", "document"),
        ({"attachments": [{"type": "share", "payload": {}}]}, "media", "share"),
        ({"attachments": [{"type": "ig_reel", "payload": {}}]}, "media", "reel"),
        ({"attachments": [{"type": "story_mention", "payload": {}}]}, "ignored", "story_mention"),
        ({"is_unsupported": True}, "media", "unsupported"),
        ({"text": "А это сколько?", "attachments": [{"type": "image"}]}, "message", "image"),
        ({}, "ignored", None),
    ],
)
def test_attachments(message: dict[str, Any], kind: str, media_kind: str | None) -> None:
    [event] = parse_instagram(messaging({"message": {"mid": "m1", **message}}))
    assert (event.kind.value, event.media_kind) == (kind, media_kind)
    assert event.event_id == "m1"


def test_postback_is_a_message_with_the_button_title() -> None:
    postback = {"mid": "pb1", "title": "Узнать цену", "payload": "PRICE"}
    [event] = parse_instagram(messaging({"postback": postback}))
    assert (event.kind, event.text, event.event_id) == (EventKind.MESSAGE, "Узнать цену", "pb1")
    assert event.extra == {"postback_payload": "PRICE"}


def test_reaction_is_ignored_and_does_not_take_the_reacted_message_id() -> None:
    reaction = {"mid": "m1", "action": "react", "reaction": "love", "emoji": "❤"}
    [event] = parse_instagram(messaging({"reaction": reaction}))
    assert event.kind is EventKind.IGNORED
    assert event.event_id != "m1" and event.event_id.startswith("h:")


def test_quick_reply_and_reply_to_are_kept() -> None:
    message = {
        "mid": "m2",
        "text": "Да",
        "quick_reply": {"payload": "YES"},
        "reply_to": {"mid": "m0"},
    }
    [event] = parse_instagram(messaging({"message": message}))
    assert event.extra == {"quick_reply_payload": "YES", "reply_to": "m0"}


def test_event_without_mid_gets_a_stable_hash() -> None:
    payload = messaging({"message": {"text": "без mid"}})
    [first] = parse_instagram(payload)
    [second] = parse_instagram(copy.deepcopy(payload))
    assert first.kind is EventKind.MESSAGE
    assert first.event_id == second.event_id and first.event_id.startswith("h:")


def test_other_change_fields_are_ignored() -> None:
    payload = {
        "object": "instagram",
        "entry": [
            {"id": "1", "changes": [{"field": "comments", "value": {"id": "c1", "text": "?"}}]}
        ],
    }
    [event] = parse_instagram(payload)
    assert event.kind is EventKind.IGNORED and event.extra["reason"] == "field:comments"


def test_several_events_in_one_post() -> None:
    payload = messaging({"message": {"mid": "a", "text": "раз"}})
    entry = payload["entry"][0]
    entry["messaging"].append({**entry["messaging"][0], "message": {"mid": "b", "text": "два"}})
    entry["standby"] = [{**entry["messaging"][0], "message": {"mid": "c", "text": "три"}}]
    assert [(e.kind, e.event_id) for e in parse_instagram(payload)] == [
        (EventKind.MESSAGE, "a"),
        (EventKind.MESSAGE, "b"),
        (EventKind.IGNORED, "standby:c"),
    ]


@pytest.mark.parametrize(
    "payload",
    [
        {},
        [],
        None,
        "x",
        {"object": "whatsapp_business_account", "entry": [{}]},
        {"object": "instagram"},
    ],
)
def test_not_an_instagram_payload_gives_no_events(payload: Any) -> None:
    assert parse_instagram(payload) == []


WEIRD: list[Any] = [None, 0, -1, 1e300, True, "", "x", "2021-13-45", [], [1, "a"], {}, {"id": None}]


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if e is not None))
def test_garbage_inside_a_real_payload_never_raises(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    for payload in corrupted_copies(load(name), WEIRD, seed=name):
        for event in parse_instagram(payload):
            assert isinstance(event.event_id, str) and event.event_id
            assert all(isinstance(v, str) for v in event.extra.values())
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
