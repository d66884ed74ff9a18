"""Markdown → Telegram HTML: exact renderings, validity for any input, and splitting of
long (Russian) answers into messages Telegram accepts."""

from __future__ import annotations

import random
import re

import pytest

from botcraft.channels.telegram.format import (
    TELEGRAM_TEXT_LIMIT,
    escape_html,
    markdown_to_plain,
    markdown_to_telegram_html,
    render_parts,
    split_markdown,
)
from botcraft.channels.text_split import split_plain, utf16_len

# ------------------------------------------------------------- a strict Telegram checker

_ALLOWED = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre"}
_ALLOWED |= {"blockquote", "tg-spoiler", "span"}
_TOKEN = re.compile(r"<(/?)([a-z-]+)((?:\s[^<>]*)?)>|&(lt|gt|amp|quot|#\d+|#x[0-9a-f]+);|([<>&])")


def telegram_visible(html: str) -> str:
    """Validate `html` as Telegram would (and stricter); return its visible text.

    Only documented tags; every tag closed in order; entities only &lt; &gt; &amp; &quot;
    or numeric; no bare < > &; nothing inside code/pre but code in pre; no link in a link;
    no blockquote in a blockquote; href only http(s) or tg.
    """
    stack: list[str] = []
    visible: list[str] = []
    position = 0
    for match in _TOKEN.finditer(html):
        visible.append(html[position : match.start()])
        position = match.end()
        closing, name, attrs, entity, bare = match.groups()
        assert bare is None, f"unescaped {bare!r} at {match.start()} in {html!r}"
        if entity is not None:
            visible.append({"lt": "<", "gt": ">", "amp": "&", "quot": '"'}.get(entity, "?"))
            continue
        assert name in _ALLOWED, f"tag {name!r} in {html!r}"
        if closing:
            assert stack and stack[-1] == name, f"</{name}> does not close {stack} in {html!r}"
            stack.pop()
            continue
        if stack and stack[-1] in ("code", "pre"):
            assert stack[-1] == "pre" and name == "code", f"<{name}> inside {stack} in {html!r}"
        if name == "a":
            assert "a" not in stack, html
            assert re.fullmatch(r' href="(?:https?|tg)://[^"<>\s]+"', attrs), attrs
        if name == "blockquote":
            assert "blockquote" not in stack, html
        if name in ("code", "pre"):
            assert "a" not in stack, html
        stack.append(name)
    visible.append(html[position:])
    assert not stack, f"unclosed {stack} in {html!r}"
    return "".join(visible)


# ----------------------------------------------------------------------- renderings

CASES = [
    ("**жирный** и __тоже__", "<b>жирный</b> и <b>тоже</b>"),
    ("*курсив* и _тоже_", "<i>курсив</i> и <i>тоже</i>"),
    ("~~зачёркнуто~~", "<s>зачёркнуто</s>"),
    ("***оба***", "<i><b>оба</b></i>"),
    ("**жирный с *курсивом* внутри**", "<b>жирный с <i>курсивом</i> внутри</b>"),
    ("`pip install <pkg>`", "<code>pip install &lt;pkg&gt;</code>"),
    ("``code with ` tick``", "<code>code with ` tick</code>"),
    ("a < b && c > d", "a &lt; b &amp;&amp; c &gt; d"),
    ("[сайт](https://example.ru/a_b)", '<a href="https://example.ru/a_b">сайт</a>'),
    ("[профиль](tg://user?id=42)", '<a href="tg://user?id=42">профиль</a>'),
    ('[q](https://x.ru/?a=1&b="2")', '<a href="https://x.ru/?a=1&amp;b=&quot;2&quot;">q</a>'),
    ("[**жирная** ссылка](http://x.ru)", '<a href="http://x.ru"><b>жирная</b> ссылка</a>'),
    ("[код `x`](http://x.ru)", '<a href="http://x.ru">код x</a>'),  # no code inside a link
    ("[плохая](javascript:alert(1))", "плохая"),
    ("[локальная](/etc/passwd)", "локальная"),
    ("<https://example.ru>", '<a href="https://example.ru">https://example.ru</a>'),
    ("# Доставка", "<b>Доставка</b>"),
    ("### Оплата ###", "<b>Оплата</b>"),
    ("#хештег", "#хештег"),
    ("- один\n* два\n+ три", "• один\n• два\n• три"),
    ("  - вложенный", "• вложенный"),  # leading whitespace of the message is trimmed
    ("1. первый\n2) второй", "1. первый\n2) второй"),
    (
        "> цитата **важная**\n> вторая строка",
        "<blockquote>цитата <b>важная</b>\nвторая строка</blockquote>",
    ),
    ("> раз\n>> два", "<blockquote>раз\nдва</blockquote>"),  # Telegram cannot nest quotes
    (
        "```python\nif a < b:\n    pass\n```",
        '<pre><code class="language-python">if a &lt; b:\n    pass</code></pre>',
    ),
    ("```\nплохой <b> & код\n```", "<pre>плохой &lt;b&gt; &amp; код</pre>"),
    ("```\nне закрыт", "<pre>не закрыт</pre>"),
    ('```js" onclick=x\ncode\n```', "<pre>code</pre>"),  # odd info string: no class
    ("---", "———"),
    ("\\*не курсив\\*", "*не курсив*"),
    ("строка\n**через\nстроки**", "строка\n<b>через\nстроки</b>"),
    # Unbalanced or non-emphasis uses of the markers stay literal.
    ("**bold", "**bold"),
    ("bold**", "bold**"),
    ("2*3*4 = 24", "2*3*4 = 24"),
    ("2**10 = 1024", "2**10 = 1024"),
    ("a * b * c", "a * b * c"),
    ("snake_case_name", "snake_case_name"),
    ("файл price_list_2024.xlsx и @my_shop_bot", "файл price_list_2024.xlsx и @my_shop_bot"),
    ("https://example.ru/_a_b_/c_d_", "https://example.ru/_a_b_/c_d_"),
    (
        "см. https://ru.wikipedia.org/wiki/Foo_(bar).",
        "см. https://ru.wikipedia.org/wiki/Foo_(bar).",
    ),
    ("*a **b", "*a **b"),
    ("**a *b**", "*<i>a <i>b</i></i>"),  # as CommonMark pairs it
    ("~100 ₽", "~100 ₽"),
    ("`не закрытый код", "`не закрытый код"),
    ("[не ссылка] (https://x.ru)", "[не ссылка] (https://x.ru)"),
    ("[без конца](https://x.ru", "[без конца](https://x.ru"),
]


@pytest.mark.parametrize(("markdown", "expected"), CASES)
def test_rendering(markdown: str, expected: str) -> None:
    html = markdown_to_telegram_html(markdown)
    assert html == expected
    telegram_visible(html)


def test_plain_fallback_has_no_markup_and_keeps_urls() -> None:
    markdown = (
        "# Часы работы\n**Пн–Пт**: 9–21, _Сб_: 10–18.\n- [Карта](https://maps.example/x)\n"
        "> «Лучший сервис»\n```\nкод <tag>\n```"
    )
    assert markdown_to_plain(markdown) == (
        "Часы работы\nПн–Пт: 9–21, Сб: 10–18.\n• Карта (https://maps.example/x)\n"
        "«Лучший сервис»\nкод <tag>"
    )


def test_plain_link_whose_text_is_its_url_is_shown_once() -> None:
    assert markdown_to_plain("[https://x.ru](https://x.ru)") == "https://x.ru"


def test_escape_html() -> None:
    assert escape_html('<a href="x">&') == '&lt;a href="x"&gt;&amp;'


_ALPHABET = list("*_`~[]()<>&#->!\n  abcабв12.:/\\\"'") + [
    "**",
    "__",
    "```",
    "https://x.ru/a_b",
    "tg://u",
    "javascript:",
    "&amp;",
    "- ",
    "> ",
    "1. ",
    "# ",
    "\n\n",
    "😀",
]


def test_any_input_gives_valid_telegram_html() -> None:
    rng = random.Random(20240601)
    for _ in range(3000):
        markdown = "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 60)))
        html = markdown_to_telegram_html(markdown)
        visible = telegram_visible(html)
        # The visible text never exceeds the source: what split_markdown relies on.
        assert utf16_len(visible) <= utf16_len(markdown)
        assert utf16_len(markdown_to_plain(markdown)) <= utf16_len(markdown)


def test_matches_the_telegram_fake_parser_when_present() -> None:
    fake = pytest.importorskip("tests.fakes.telegram_fake")
    rng = random.Random(7)
    for _ in range(500):
        markdown = "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 60)))
        html = markdown_to_telegram_html(markdown)
        text, _entities = fake.parse_html(html)
        assert text == telegram_visible(html)


# -------------------------------------------------------------------------- splitting

SENTENCES = [
    "Наш магазин работает ежедневно с 9:00 до 21:00, без перерыва на обед.",
    "Доставка по Москве **бесплатная** при заказе от 3000 ₽, иначе — 300 ₽.",
    "Оплатить заказ можно картой, наличными курьеру или через *СБП*.",
    "Подробные условия есть на [сайте](https://example.ru/dostavka_i_oplata).",
    "Если товар не подошёл, его можно вернуть в течение 14 дней!",
    "Артикул `SKU_2024_X` снят с производства, но есть аналог.",
    "Вы спрашивали про скидки?",
]


def russian_answer(length: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    paragraphs: list[str] = []
    total = 0
    while total < length:
        if rng.random() < 0.15:
            items = [f"- {rng.choice(SENTENCES)}" for _ in range(rng.randint(2, 5))]
            paragraph = "\n".join(items)
        elif rng.random() < 0.1:
            paragraph = f"## {rng.choice(['Доставка', 'Оплата', 'Возврат и обмен'])}"
        else:
            paragraph = " ".join(rng.choice(SENTENCES) for _ in range(rng.randint(1, 9)))
        paragraphs.append(paragraph)
        total += len(paragraph) + 2
    return "\n\n".join(paragraphs)


def words(text: str) -> list[str]:
    return text.split()


def test_ten_thousand_character_russian_answer() -> None:
    markdown = russian_answer(10_000)
    assert 10_000 <= len(markdown) < 11_000
    parts = render_parts(markdown)
    assert len(parts) == 3
    for html, plain in parts:
        visible = telegram_visible(html)
        assert utf16_len(visible) <= TELEGRAM_TEXT_LIMIT
        assert utf16_len(plain) <= TELEGRAM_TEXT_LIMIT
        assert "**" not in plain and "](" not in plain and "<b>" not in plain
        assert "<b>" in html and "<a href=" in html
    # Every paragraph fits in a message, so the cuts fall between whole paragraphs.
    sources = split_markdown(markdown)
    assert [p for s in sources for p in s.split("\n\n")] == markdown.split("\n\n")
    # Nothing is lost or duplicated: the parts read, in order, as the whole answer.
    assert words(" ".join(p for _, p in parts)) == words(markdown_to_plain(markdown))
    assert words(" ".join(telegram_visible(h) for h, _ in parts)) == words(
        telegram_visible(markdown_to_telegram_html(markdown))
    )


def test_parts_end_on_paragraph_boundaries_when_paragraphs_fit() -> None:
    paragraphs = [f"Абзац {i}. " + "Текст абзаца. " * 20 for i in range(40)]
    markdown = "\n\n".join(p.strip() for p in paragraphs)
    parts = split_markdown(markdown, 1000)
    assert all(utf16_len(p) <= 1000 for p in parts)
    for part in parts:
        assert part.startswith("Абзац ") and part.endswith("Текст абзаца.")


def test_one_huge_paragraph_is_cut_between_sentences() -> None:
    markdown = " ".join(f"Предложение номер {i} про доставку." for i in range(400))
    parts = split_markdown(markdown, 500)
    assert len(parts) > 1
    for part in parts:
        assert utf16_len(part) <= 500
        assert part.startswith("Предложение") and part.endswith("доставку.")


def test_a_word_longer_than_the_limit_is_cut_hard() -> None:
    parts = split_plain("а" * 250 + " конец", 100)
    assert parts == ["а" * 100, "а" * 100, "а" * 50, "конец"]


def test_split_plain_boundaries() -> None:
    assert split_plain("", 10) == []
    assert split_plain("  короткий  ", 10) == ["короткий"]
    assert split_plain("Раз. Два! Три? Четыре.", 11) == ["Раз. Два!", "Три?", "Четыре."]
    assert split_plain("«Да.» Нет.", 6) == ["«Да.»", "Нет."]
    assert split_plain("один два три четыре", 9) == ["один два", "три", "четыре"]
    assert split_plain("строка 1\nстрока 2\n\nабзац", 17) == ["строка 1\nстрока 2", "абзац"]
    with pytest.raises(ValueError):
        split_plain("x", 0)


def test_emoji_count_as_two_for_telegram() -> None:
    markdown = "😀" * 3000  # 3000 characters, 6000 UTF-16 code units
    parts = render_parts(markdown)
    assert [utf16_len(p) for _, p in parts] == [4096, 1904]


def test_a_long_code_block_is_split_between_lines_with_fences_repeated() -> None:
    code = "\n".join(f"    line_{i} = value_{i}  # комментарий" for i in range(300))
    markdown = f"Пример:\n\n```python\n{code}\n```\n\nГотово."
    parts = render_parts(markdown, 2000)
    assert len(parts) > 2
    lines: list[str] = []
    for html, _plain in parts:
        assert utf16_len(telegram_visible(html)) <= 2000
        for block in re.findall(
            r'<pre><code class="language-python">(.*?)</code></pre>', html, re.S
        ):
            lines.extend(block.split("\n"))
    assert lines == code.split("\n")  # indentation kept, nothing lost or re-flowed
    assert parts[0][1].startswith("Пример:") and parts[-1][1].endswith("Готово.")


def test_render_parts_of_nothing() -> None:
    assert render_parts("") == []
    assert render_parts("\n\n  \n") == []


PATHOLOGICAL = [
    "a* " * 5000,
    "**a " * 3000 + "b** " * 3000,  # 3000 nested bolds
    "_a " * 5000 + "a_ " * 5000,
    "[" * 10000,
    "[a](" * 3000,
    "` `` ``` " * 1000,
    "~~a " * 3000,
    "> " * 5000,
]


# Quadratic or exponential behaviour would hang here; the timeout (not a timing assertion,
# which a loaded CI machine makes flaky) catches it.
@pytest.mark.timeout(30)
@pytest.mark.parametrize("markdown", PATHOLOGICAL, ids=lambda m: repr(m[:8]))
def test_pathological_input_renders_valid_html(markdown: str) -> None:
    html = markdown_to_telegram_html(markdown)
    parts = render_parts(markdown)
    telegram_visible(html)
    for part_html, _plain in parts:
        assert utf16_len(telegram_visible(part_html)) <= TELEGRAM_TEXT_LIMIT


def test_emphasis_nesting_is_capped() -> None:
    html = markdown_to_telegram_html("**a " * 8 + "b" + " b**" * 8)
    assert html.count("<b>") == 6 and html.count("**") == 4
