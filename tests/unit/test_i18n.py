"""The message catalogue: every message the code can say has its Russian words."""

import re

import pytest

from botcraft.i18n import choose, translate
from botcraft.i18n.extract import messages_in_code, read, untranslated

_NAMES = re.compile(r"\{(\w+)\}")


def test_every_message_the_code_says_is_translated_to_russian():
    assert untranslated("ru") == [], "run `make messages` and translate the new entries"


def test_translations_keep_every_value_of_their_message():
    catalog = read("ru")
    for message in messages_in_code():
        assert set(_NAMES.findall(catalog.get(message).string)) == set(_NAMES.findall(message)), message


@pytest.mark.parametrize("header, language", [
    (None, "ru"), ("", "ru"), ("de-DE,de;q=0.9", "ru"), ("en-US,en;q=0.9", "en"), ("ru-RU,ru;q=0.9,en;q=0.8", "ru"),
    ("fr;q=1, en;q=0.5, ru;q=0.7", "ru"), ("en;q=0, ru;q=0.1", "ru"), ("en;q=bad", "ru"), ("EN", "en"),
])
def test_the_language_is_chosen_from_accept_language_russian_by_default(header, language):
    assert choose(header) == language


def test_formatted_messages_are_recognised_and_their_values_kept():
    said = "Too many sign-in attempts; try again in 42 seconds."
    assert translate(said, "ru") == "Слишком много попыток входа — повторите через 42 с."
    assert translate(said, "en") == said
    # A value that is itself a message is translated too.
    nested = "«llm_base_url»: must start with http:// or https://."
    assert translate(nested, "ru") == "«llm_base_url»: должен начинаться с http:// или https://."


def test_unknown_text_is_left_as_it_is():
    assert translate("Meta says: (#100) Invalid parameter", "ru") == "Meta says: (#100) Invalid parameter"
