"""initData validation against Telegram's rules, with data built the way Telegram builds it."""

import json
import time
from urllib.parse import urlencode

import pytest

from botcraft.auth.telegram import InitDataError, sign, validate_init_data

BOT_TOKEN = "7000000001:AAFakeTokenForTestsOnly_abcdefghijkl"


def make_init_data(token: str = BOT_TOKEN, auth_date: int | None = None, **extra: str) -> str:
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        # Telegram's own serialisation (escaped slash, no spaces) must be hashed as received.
        "user": json.dumps(
            {"id": 279058397, "first_name": "Иван", "last_name": "Петров", "username": "ivan_p",
             "language_code": "ru", "photo_url": "https:\\/\\/t.me\\/i\\/userpic\\/320\\/x.jpg"},
            ensure_ascii=False, separators=(",", ":"),
        ).replace("\\\\/", "\\/"),
        "auth_date": str(auth_date if auth_date is not None else int(time.time())),
        **extra,
    }
    fields["hash"] = sign(fields, token)
    return urlencode(fields)


def test_valid_init_data_gives_the_user():
    identity = validate_init_data(make_init_data(), BOT_TOKEN, max_age=86400)
    assert identity.telegram_id == 279058397
    assert identity.username == "ivan_p"
    assert identity.display_name == "Иван Петров"


def test_signature_field_stays_in_the_check_string():
    data = make_init_data(signature="x7ZtGfA0bLq2CXDmTcVvOeDWkR8HNBk1mJ1y_fZt2Xy9")
    assert validate_init_data(data, BOT_TOKEN, max_age=86400).telegram_id == 279058397


@pytest.mark.parametrize(
    "mutate, reason",
    [
        (lambda d: d.replace("ivan_p", "ivan_q"), "signature"),
        (lambda d: d + "&extra=1", "signature"),
        (lambda d: d.split("&hash=")[0], "not signed"),
        (lambda d: d.split("&hash=")[0] + "&hash=%D0%96%D0%96", "hex"),
        (lambda d: "", "empty"),
        (lambda d: "%%%===&&", "query string"),
    ],
)
def test_tampered_or_malformed_data_is_refused_with_a_reason(mutate, reason):
    with pytest.raises(InitDataError, match=reason):
        validate_init_data(mutate(make_init_data()), BOT_TOKEN, max_age=86400)


def test_another_bots_data_is_refused():
    with pytest.raises(InitDataError, match="signature"):
        validate_init_data(make_init_data(token="7000000002:AAOtherBotTokenxxxxxxxxxxxxxxxxxxxx"), BOT_TOKEN, max_age=0)


def test_old_data_expires_unless_the_age_check_is_off():
    old = make_init_data(auth_date=int(time.time()) - 90_000)
    with pytest.raises(InitDataError, match="expired"):
        validate_init_data(old, BOT_TOKEN, max_age=86400)
    assert validate_init_data(old, BOT_TOKEN, max_age=0).telegram_id == 279058397
