"""How a customer's question is read: morphology, colloquial forms, question words, synonyms,
typos against the agent's own words, follow-ups, small talk, person requests."""

from __future__ import annotations

import pytest

from botcraft.dialogue import followup, offline, smalltalk
from botcraft.dialogue.prompting import HistoryItem
from botcraft.knowledge.query import understand
from botcraft.knowledge.search import Hit, Source
from botcraft.knowledge.vocabulary import Vocabulary
from botcraft.knowledge.word_index import WordIndexBuilder
from botcraft.language.analyzer import analyze, index_text
from botcraft.language.synonyms import check_owner_lines, thesaurus


def vocabulary_of(*texts: str) -> Vocabulary:
    builder = WordIndexBuilder()
    builder.add((chunk_id, index_text(text)) for chunk_id, text in enumerate(texts, start=1))
    return Vocabulary(builder.build())


def finds(question: str, passage: str, owner_lines: str = "", vocabulary: Vocabulary | None = None) -> bool:
    """Would the offline responder answer the question from this passage (in an agent whose
    documents are the passage, or `vocabulary`)?"""
    query = understand(question, thesaurus(owner_lines), vocabulary or vocabulary_of(passage))
    source = Source(document_id=1, filename="faq.docx", page=None, sheet=None, row_start=None, row_end=None)
    return offline.score(query, Hit(chunk_id=1, score=1.0, text=passage, source=source)) is not None


def test_inflection_meets_the_dictionary_form():
    assert set(analyze("ребёнка")) & set(analyze("ребёнок"))
    assert set(analyze("дети")) & set(analyze("ребёнок"))  # a form Snowball alone cannot join
    assert finds("цены на педикюры", "Педикюр — 2200 ₽")


@pytest.mark.parametrize(("question", "passage"), [
    ("Сколько стоит подстричь ребёнка?", "Стрижка детская; Цена: 800"),
    ("Можно заплатить картой?", "Оплата картой или наличными"),
    ("Сколько будет стоить поменять колодки?", "Замена колодок; Стоимость: 2500"),
    ("Как стирать льняные вещи?", "Уход за льном: стирать при 30 градусах"),
])
def test_derivation_is_found_through_word_families(question, passage):
    assert finds(question, passage)


@pytest.mark.parametrize("question", ["почём стрижка?", "скока стоит стрижка", "стрижка сколько по деньгам"])
def test_colloquial_forms_ask_for_the_price(question):
    assert finds(question, "Стрижка мужская; Цена, ₽: 1200")


def test_question_words_are_not_concepts():
    query = understand("Скажите, а сколько можно ли у вас есть какой-нибудь латте?", thesaurus())
    assert [c.said for c in query.concepts if not c.kind] == ["латте"]
    assert understand("Можно ли у вас?", thesaurus()).concepts == ()


@pytest.mark.parametrize(("question", "passage"), [
    ("Как до вас добраться?", "Наш адрес: ул. Садовая, 12"),
    ("Во сколько открываетесь в субботу?", "Часы работы: в выходные с 11:00"),
    ("Где можно оставить машину?", "Во дворе есть бесплатная парковка"),
    ("Можно заплатить по QR-коду?", "Принимаем оплату через СБП"),
    ("Можно прийти с собакой?", "С домашними животными нельзя"),
    ("Можно оплатить частями?", "Есть рассрочка на 6 месяцев"),
    ("Do you have parking?", "Free parking in the yard"),
    ("Can I pay by card?", "Payment: cards and cash"),
])
def test_everyday_synonyms(question, passage):
    assert finds(question, passage)


def test_owner_synonyms_extend_the_builtin_ones_per_agent():
    assert not finds("Есть ли у вас барбер?", "Мужской мастер: стрижка машинкой")  # out of scope
    assert finds("Есть ли у вас барбер?", "Мужской мастер: стрижка машинкой", owner_lines="барбер, мужской мастер")
    assert check_owner_lines("барбер, мужской мастер\nодно слово") == ["одно слово"]


def test_typos_are_corrected_against_the_agents_own_words_only():
    salon = vocabulary_of("Маникюр классический — 1200 ₽", "Педикюр — 2200 ₽")
    shop = vocabulary_of("Футболка — 1500 ₽", "Кепка — 700 ₽")
    assert finds("Сколько стоит маникур?", "Маникюр классический — 1200 ₽", vocabulary=salon)
    assert finds("педекюр цена", "Педикюр — 2200 ₽", vocabulary=salon)
    # The shop never wrote "маникюр": no general dictionary puts it back.
    misspelt = understand("Сколько стоит маникур?", thesaurus(), shop)
    assert not any(c.terms & set(analyze("маникюр")) for c in misspelt.concepts)


def test_english_typo_and_inflection():
    menu = vocabulary_of("Cappuccino 300 ml — 250 rubles", "Croissant — 180 rubles")
    assert finds("capuccino price", "Cappuccino 300 ml — 250 rubles", vocabulary=menu)
    assert finds("croissants", "Croissant — 180 rubles")


def test_a_thing_the_documents_never_mention_is_out_of_scope():
    car_service = vocabulary_of("Ремонт двигателя — от 5000 ₽", "Замена масла — 1500 ₽")
    assert understand("Сколько стоит ремонт айфона?", thesaurus(), car_service).unknown_things == ["айфона"]
    assert understand("Do you repair iPhones?", thesaurus(), car_service).unknown_things == ["iphones"]
    assert understand("Сколько стоит замена масла?", thesaurus(), car_service).unknown_things == []
    assert not finds("Сколько стоит ремонт айфона?", "Ремонт двигателя — от 5000 ₽", vocabulary=car_service)
    assert finds("Сколько стоит ремонт двигателя?", "Ремонт двигателя — от 5000 ₽", vocabulary=car_service)


@pytest.mark.parametrize("message", ["А сколько он стоит?", "А в субботу?", "А на гель-лак?", "And on Sunday?"])
def test_follow_ups_are_searched_with_the_previous_question(message):
    history = [HistoryItem("assistant", "Маникюр классический — 1200 ₽"), HistoryItem("user", "Сколько стоит маникюр?")]
    assert followup.search_text(message, history) == f"Сколько стоит маникюр? {message}"


@pytest.mark.parametrize("message", ["Сколько стоит латте?", "Как до вас добраться?", "What time do you open on Sunday?"])
def test_a_standalone_question_is_searched_alone(message):
    assert followup.search_text(message, [HistoryItem("user", "Сколько стоит маникюр?")]) == message


@pytest.mark.parametrize(("message", "kind"), [
    ("Спасибо!", "thanks"), ("спасибо большое за помощь", "thanks"), ("ок, понятно", "ok"), ("Понятно", "ok"),
    ("пока", "bye"), ("До свидания!", "bye"), ("👍", "emoji"), ("❤️", "emoji"), ("Thanks a lot!", "thanks"),
])
def test_small_talk_is_recognised(message, kind):
    assert smalltalk.kind(message) == kind
    assert smalltalk.reply(kind, "ru") and smalltalk.reply(kind, "en")


@pytest.mark.parametrize("message", ["Спасибо, а сколько стоит латте?", "Хорошо, а парковка есть?", "ок 5 штук"])
def test_a_question_after_thanks_is_not_small_talk(message):
    assert smalltalk.kind(message) is None


@pytest.mark.parametrize(("message", "person"), [
    ("Позовите менеджера", True), ("хочу поговорить с человеком", True), ("оператор", True),
    ("Можно живого человека?", True), ("Connect me to a human, please", True),
    ("Сколько человек в группе?", False), ("Сколько стоит стрижка?", False),
])
def test_a_request_for_a_person(message, person):
    assert smalltalk.asks_for_person(message) is person
