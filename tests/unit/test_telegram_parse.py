"""parse_update on every real Update sample, on the update types the brief names, and on
garbage (a webhook parser must never raise for a dict with an update_id)."""

from __future__ import annotations

import copy
import json
import os
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from botcraft.channels.events import EventKind
from botcraft.channels.telegram.parse import MissingUpdateIdError, parse_update

FIXTURES = Path(
    os.environ.get("BOTCRAFT_FIXTURES", Path(__file__).resolve().parents[3] / "shared/fixtures")
)
TELEGRAM = FIXTURES / "telegram_updates"


def load(name: str) -> dict[str, Any]:
    return json.loads((TELEGRAM / name).read_text(encoding="utf-8"))


# What each sample parses to: kind and the fields that matter for it.
EXPECTED: dict[str, dict[str, Any]] = {
    "message_text.nutgram.json": {
        "kind": EventKind.MESSAGE,
        "event_id": "update:123456789",
        "chat_id": "12345678",
        "message_id": "123456",
        "text": "aaaaaaaaaa",
        "customer_name": "Mario Bros",
        "timestamp": datetime(2021, 9, 16, 19, 1, 44, tzinfo=UTC),
        "extra": {"username": "MarioLovesPeach", "language_code": "it", "chat_type": "private"},
    },
    "message_command_entities.nutgram.json": {
        "kind": EventKind.MESSAGE,
        "event_id": "update:144064961",
        "chat_id": "10081232",
        "message_id": "428640",
        "text": "/test",
        "customer_name": "Luca Patera",
    },
    "message_photo_caption.nutgram.json": {
        "kind": EventKind.MESSAGE,
        "event_id": "update:144011148",
        "chat_id": "11111111",
        "message_id": "456901",
        "text": "asdasdasdasdasdasd",
        "media_kind": "image",
        "customer_name": "Mario",
    },
    "edited_message.nutgram.json": {
        "kind": EventKind.IGNORED,
        "event_id": "update:62257549",
        "chat_id": "999999999",
        "message_id": "23762",
        "text": None,
    },
    "callback_query.nutgram.json": {
        "kind": EventKind.CALLBACK,
        "event_id": "update:2",
        "chat_id": "222222222",
        "callback_id": "666728699048485871",
        "text": "thedata",
        "customer_name": "Mario",
    },
    # creator -> creator in a private chat: neither a block nor an unblock.
    "my_chat_member.nutgram.json": {
        "kind": EventKind.IGNORED,
        "event_id": "update:123456789",
        "chat_id": "987654321",
    },
    "my_chat_member_blocked_private.galihjk.json": {
        "kind": EventKind.BLOCKED,
        "event_id": "update:732119727",
        "chat_id": "2063236800",
        "customer_name": "Jaya2nti",
        "timestamp": datetime(2023, 1, 5, 8, 48, 26, tzinfo=UTC),
    },
}


def test_every_sample_has_an_expectation() -> None:
    samples = {p.name for p in TELEGRAM.glob("*.json")} - {"bot_api_responses.json"}
    assert samples == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture(name: str) -> None:
    event = parse_update(load(name))
    assert event.channel == "telegram"
    assert event.route_key is None
    for key, value in EXPECTED[name].items():
        if key == "extra":
            assert event.extra == value
        else:
            assert getattr(event, key) == value, key


def test_get_updates_result_parses_like_a_webhook_update() -> None:
    update = load("bot_api_responses.json")["getUpdates_ok_example_constructed"]["result"][0]
    event = parse_update(update)
    assert event.kind is EventKind.MESSAGE
    assert (event.chat_id, event.text) == ("12345678", "aaaaaaaaaa")


def private_message(**fields: Any) -> dict[str, Any]:
    message = {
        "message_id": 7,
        "from": {"id": 42, "is_bot": False, "first_name": "Анна", "last_name": "Петрова"},
        "chat": {"id": 42, "first_name": "Анна", "type": "private"},
        "date": 1700000000,
    }
    message.update(fields)
    return {"update_id": 1000, "message": message}


def test_start_command_keeps_its_payload() -> None:
    event = parse_update(private_message(text="/start promo_2024"))
    assert event.kind is EventKind.MESSAGE
    assert event.text == "/start promo_2024"
    assert event.customer_name == "Анна Петрова"


def test_photo_without_caption_is_media_image() -> None:
    event = parse_update(private_message(photo=[{"file_id": "a", "width": 1, "height": 1}]))
    assert (event.kind, event.media_kind, event.text) == (EventKind.MEDIA, "image", None)


@pytest.mark.parametrize(
    ("field", "media_kind"),
    [
        ("voice", "voice"),
        ("audio", "audio"),
        ("video", "video"),
        ("video_note", "video_note"),
        ("sticker", "sticker"),
        ("document", "document"),
        ("location", "location"),
        ("venue", "location"),
        ("contact", "contact"),
    ],
)
def test_media_types(field: str, media_kind: str) -> None:
    event = parse_update(private_message(**{field: {"file_id": "x"}}))
    assert (event.kind, event.media_kind) == (EventKind.MEDIA, media_kind)
    assert event.chat_id == "42" and event.message_id == "7"


def test_animation_wins_over_its_document_twin() -> None:
    # Telegram sends an animation with a `document` field as well, for old clients.
    event = parse_update(private_message(animation={"file_id": "a"}, document={"file_id": "a"}))
    assert event.media_kind == "animation"


def test_captioned_document_is_a_question() -> None:
    event = parse_update(private_message(document={"file_id": "d"}, caption="Сколько стоит?"))
    assert (event.kind, event.text, event.media_kind) == (
        EventKind.MESSAGE,
        "Сколько стоит?",
        "document",
    )


def test_group_messages_are_ignored() -> None:
    update = private_message(text="всем привет")
    update["message"]["chat"] = {"id": -100123, "title": "Чат", "type": "supergroup"}
    event = parse_update(update)
    assert event.kind is EventKind.IGNORED
    assert event.extra["reason"] == "not_private"


def test_service_message_is_ignored() -> None:
    event = parse_update(private_message(pinned_message={"message_id": 1}))
    assert event.kind is EventKind.IGNORED


def test_unblocked_after_kicked() -> None:
    update = load("my_chat_member_blocked_private.galihjk.json")
    update["my_chat_member"]["old_chat_member"]["status"] = "kicked"
    update["my_chat_member"]["new_chat_member"]["status"] = "member"
    event = parse_update(update)
    assert (event.kind, event.chat_id) == (EventKind.UNBLOCKED, "2063236800")


def test_my_chat_member_in_a_group_is_ignored() -> None:
    update = load("my_chat_member_blocked_private.galihjk.json")
    update["my_chat_member"]["chat"]["type"] = "group"
    assert parse_update(update).kind is EventKind.IGNORED


def test_callback_without_its_message_uses_the_sender_as_chat() -> None:
    update = load("callback_query.nutgram.json")
    del update["callback_query"]["message"]
    update["callback_query"]["inline_message_id"] = "AAA"
    event = parse_update(update)
    assert (event.kind, event.chat_id, event.text) == (EventKind.CALLBACK, "222222222", "thedata")


def test_callback_without_data_still_needs_an_answer() -> None:
    update = load("callback_query.nutgram.json")
    del update["callback_query"]["data"]
    event = parse_update(update)
    assert event.kind is EventKind.CALLBACK
    assert event.callback_id == "666728699048485871" and event.text is None


@pytest.mark.parametrize(
    "key",
    [
        "edited_channel_post",
        "channel_post",
        "inline_query",
        "chosen_inline_result",
        "poll",
        "poll_answer",
        "chat_join_request",
        "chat_member",
        "message_reaction",
        "business_message",
        "something_from_bot_api_99",
    ],
)
def test_other_update_types_are_ignored(key: str) -> None:
    event = parse_update({"update_id": 5, key: {"id": "1", "chat": {"id": 1, "type": "channel"}}})
    assert event.kind is EventKind.IGNORED
    assert event.event_id == "update:5"


def test_update_id_as_a_string_of_digits() -> None:
    assert parse_update({"update_id": "77", "poll": {}}).event_id == "update:77"


@pytest.mark.parametrize(
    "update", [{}, {"message": {"text": "hi"}}, {"update_id": None}, {"update_id": True}, []]
)
def test_no_update_id_raises_a_specific_value_error(update: Any) -> None:
    with pytest.raises(MissingUpdateIdError) as info:
        parse_update(update)
    assert isinstance(info.value, ValueError)


WEIRD_VALUES: list[Any] = [None, 0, -1, 1.5, True, "", "x", [], [1, "a"], {}, {"id": None}]


def _mutations(update: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The update with one nested value (not update_id) replaced by something odd."""
    mutated = copy.deepcopy(update)
    paths: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key != "update_id":
                    paths.append((node, key))
                walk(value)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                paths.append((node, index))
                walk(value)

    walk(mutated)
    if paths:
        container, key = rng.choice(paths)
        container[key] = rng.choice(WEIRD_VALUES)
    return mutated


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_garbage_inside_a_real_update_never_raises(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(name)
    update = load(name)
    for _ in range(300):
        event = parse_update(_mutations(update, rng))
        assert event.event_id == f"update:{update['update_id']}"
        assert all(isinstance(v, str) for v in event.extra.values())
        assert event.chat_id is None or isinstance(event.chat_id, str)
    # Handled by the parser itself, not by its last-resort guard.
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
