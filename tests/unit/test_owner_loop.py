"""The owner's loop in small parts: who asks for a person, which questions are the same, link tokens."""

from __future__ import annotations

import pytest

from botcraft.dialogue.smalltalk import asks_for_person
from botcraft.knowledge.answers import clean_questions, same_question
from botcraft.notifications.linking import make_token, user_of
from botcraft.notifications.texts import NoticeView, notice_email, notice_html
from botcraft.owner.grouping import group


@pytest.mark.parametrize("text", [
    "Позовите оператора", "Можно поговорить с человеком?", "соедините с менеджером, пожалуйста", "Оператор!",
    "Нужен живой человек", "Can I talk to a human?", "I want a real person",
])
def test_a_request_for_a_person_is_recognised(text):
    assert asks_for_person(text)


@pytest.mark.parametrize("text", [
    "Сколько у вас сотрудников?", "Какой менеджер отвечает за доставку в область?", "Сколько стоит доставка?",
    "Хочу оформить заказ", "", "Здравствуйте",
])
def test_a_question_about_the_business_is_not_a_request_for_a_person(text):
    assert not asks_for_person(text)


def test_the_same_question_in_other_words_matches_a_pair_and_a_different_one_does_not():
    saved = "Можно ли прийти к вам с собакой?"
    assert same_question("А с собакой к вам прийти можно?", saved)
    assert same_question("С собаками к вам можно?", saved)
    assert not same_question("Сколько стоит стрижка собаки?", saved)
    assert not same_question("Где вы находитесь?", saved)


def test_phrasings_are_trimmed_and_kept_once():
    assert clean_questions(["  Есть  парковка? ", "есть парковка?", "", "Где машину оставить?"]) == [
        "Есть парковка?", "Где машину оставить?"]


def test_grouping_puts_rephrasings_together_newest_first():
    questions = [(1, "Есть ли у вас парковка рядом?"), (2, "Можно ли с собакой?"), (3, "А парковка у вас есть?"),
                 (4, "Сколько стоит маникюр?"), (5, "парковка есть?")]
    groups = group(questions)
    assert [g.items for g in groups] == [[1, 3, 5], [2], [4]]
    assert groups[0].texts[0] == "Есть ли у вас парковка рядом?"


def test_a_link_token_names_its_account_until_it_expires_and_cannot_be_forged():
    token, expires = make_token("secret", 42, now=1_000_000)
    assert len(token) <= 64 and all(c.isalnum() or c in "-_" for c in token)  # Telegram's start parameter
    assert user_of("secret", token, now=1_000_100) == 42
    assert user_of("secret", token, now=expires + 1) is None
    assert user_of("another-secret", token, now=1_000_100) is None
    forged = token.replace("link-42-", "link-43-")
    assert user_of("secret", forged, now=1_000_100) is None
    assert user_of("secret", "link-x", now=1_000_100) is None


def _view(**changes):
    fields = dict(agent_name="Салон <«Лотос»>", channel="whatsapp", customer_name="Ирина", customer_username=None,
                  kind="no_answer", question="Можно с собакой? <b>", bot_reply="Я передал вопрос сотруднику.",
                  further_count=0, latest_text=None, human_mode=False, resolved=False)
    fields.update(changes)
    return NoticeView(**fields)


def test_a_notice_reads_in_russian_with_every_value_escaped():
    text = notice_html(_view(), "ru")
    assert "Салон &lt;«Лотос»&gt;" in text and "Можно с собакой? &lt;b&gt;" in text
    assert "Клиент: Ирина · WhatsApp" in text and "бот не нашёл ответа" in text
    assert "Ответьте на это сообщение" in text
    more = notice_html(_view(further_count=3, latest_text="Алло?", resolved=True), "ru")
    assert "Ещё сообщений от клиента: 3, последнее: «Алло?»" in more and "✅ Отвечено." in more
    assert "Ответьте на это сообщение" not in more
    assert "Customer: Ирина · WhatsApp" in notice_html(_view(), "en")


def test_the_email_says_the_same_in_plain_text_with_the_link():
    subject, body = notice_email(_view(), "ru", "https://botcraft.example/?conversation=7")
    assert subject == "BotCraft: клиент ждёт ответа (Салон <«Лотос»>)"
    assert "Вопрос: «Можно с собакой? <b>»" in body and "https://botcraft.example/?conversation=7" in body
