"""Knowledge base through the API: real files in, searchable passages with sources out."""

from __future__ import annotations

import pytest

from tests import docgen
from tests.helpers import create_agent, sign_up, until, upload, wait_processed

PRICE_ROWS = [
    ["Артикул", "Наименование", "Цена, ₽", "Остаток"],
    ["XL-42", "Футболка хлопковая белая", 1500, 12],
    ["A4-100", "Бумага офисная A4, 500 листов", 450, 200],
    ["KR-7", "Кружка керамическая «Ёлка»", 390, 0],
]


@pytest.fixture
async def owner(client):
    headers = await sign_up(client)
    agent = await create_agent(client, headers)
    return headers, agent["id"]


async def _upload_ready(client, headers, agent_id, path, name=None):
    response = await upload(client, headers, agent_id, path, name)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "queued"
    return await wait_processed(client, headers, agent_id, response.json()["id"])


async def _search(client, headers, agent_id, q, limit=3):
    response = await client.get(f"/api/agents/{agent_id}/search", params={"q": q, "limit": limit}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["results"]


async def test_price_list_faq_catalogue_and_photo_become_searchable(client, owner, workers, tmp_path):
    headers, agent_id = owner
    xlsx = docgen.make_xlsx(tmp_path / "прайс.xlsx", {
        "Прайс": PRICE_ROWS,
        "Доставка": [["Зона", "Стоимость"], ["Москва", 300], ["Область", 600]],
    })
    docx = docgen.make_docx(
        tmp_path / "faq.docx", "Частые вопросы",
        ["Доставку по Москве выполняем ежедневно с 9 до 21 часа.",
         "Оплата картой или наличными при получении."],
        [["Вопрос", "Ответ"], ["Есть ли самовывоз?", "Да, со склада на ул. Ленина, 5"]],
    )
    pdf = docgen.make_pdf(tmp_path / "каталог.pdf", [
        "Каталог весна. Тюльпаны голландские, букет из 25 штук.",
        "Гарантия на керамику — 12 месяцев. Возврат в течение 14 дней.",
    ])
    png = docgen.make_text_png(tmp_path / "menu.png", "Капучино 250 рублей\nЭспрессо 150 рублей")

    xlsx_doc = await _upload_ready(client, headers, agent_id, xlsx)
    docx_doc = await _upload_ready(client, headers, agent_id, docx)
    pdf_doc = await _upload_ready(client, headers, agent_id, pdf)
    png_doc = await _upload_ready(client, headers, agent_id, png)
    for doc in (xlsx_doc, docx_doc, pdf_doc, png_doc):
        assert doc["status"] == "ready", doc
        assert doc["is_processed"] and doc["chunk_count"] > 0
    assert xlsx_doc["file_type"] == "xlsx" and pdf_doc["pages"] == 2 and png_doc["file_type"] == "png"

    # An SKU finds its row, with sheet and row number.
    [hit, *_] = await _search(client, headers, agent_id, "XL-42")
    assert "1500" in hit["text"] and "Футболка" in hit["text"]
    assert hit["source"]["sheet"] == "Прайс" and hit["source"]["row_start"] == 2
    assert hit["source"]["filename"] == "прайс.xlsx"

    # An inflected Russian word finds the passage.
    hits = await _search(client, headers, agent_id, "доставка по Москве")
    assert any("ежедневно с 9 до 21" in h["text"] for h in hits)
    # The DOCX table row carries its header.
    hits = await _search(client, headers, agent_id, "самовывоз")
    assert any("Вопрос: Есть ли самовывоз?" in h["text"] and "Ответ: Да" in h["text"] for h in hits)
    # ё matches е, and PDF passages know their page.
    hits = await _search(client, headers, agent_id, "кружка елка")
    assert hits and "Кружка" in hits[0]["text"]
    [hit, *_] = await _search(client, headers, agent_id, "гарантия керамика")
    assert hit["source"]["page"] == 2 and "12 месяцев" in hit["text"]
    # OCR read the photo.
    hits = await _search(client, headers, agent_id, "капучино")
    assert hits and hits[0]["source"]["filename"] == "menu.png" and "250" in hits[0]["text"]


async def test_scanned_pdf_is_read_by_ocr(client, owner, workers, tmp_path):
    headers, agent_id = owner
    doc = await _upload_ready(client, headers, agent_id,
                              docgen.make_scanned_pdf(tmp_path / "scan.pdf", "Режим работы с девяти до шести"))
    assert doc["status"] == "ready", doc
    assert await _search(client, headers, agent_id, "режим работы")


@pytest.mark.parametrize(
    "make, name, code, words",
    [
        # Named as a format we read, but something else inside: most likely a damaged file.
        (docgen.make_exe, "price.pdf", "damaged_file", "повреждён"),
        (docgen.make_ole2_doc, "old.doc", "unsupported_format", "не поддерживается"),
        (docgen.make_plain_zip, "archive.xlsx", "damaged_file", "повреждён"),
    ],
)
async def test_unsupported_files_are_415_with_the_formats(client, owner, tmp_path, settings, make, name, code, words):
    headers, agent_id = owner
    response = await upload(client, headers, agent_id, make(tmp_path / "f.bin"), name)
    assert response.status_code == 415
    assert response.json()["code"] == code and words in response.json()["detail"] and name in response.json()["detail"]
    for fmt in ("PDF", "DOCX", "XLSX", "JPG", "PNG"):
        assert fmt in response.json()["detail"]
    assert not list((settings.data_dir / "tmp").iterdir())
    assert (await client.get(f"/api/agents/{agent_id}/documents", headers=headers)).json() == []


async def test_empty_file_is_400(client, owner, tmp_path):
    headers, agent_id = owner
    response = await upload(client, headers, agent_id, docgen.make_empty(tmp_path / "e.pdf"))
    assert response.status_code == 400 and response.json()["code"] == "empty_file"


async def test_oversized_upload_is_413_and_leaves_nothing(client, owner, settings, tmp_path):
    headers, agent_id = owner
    settings.max_upload_mb = 1
    big = tmp_path / "big.pdf"
    big.write_bytes(b"%PDF-1.7\n" + b"0" * (1024 * 1024 + 10))
    response = await upload(client, headers, agent_id, big)
    assert response.status_code == 413
    assert not list((settings.data_dir / "tmp").iterdir())
    assert not (settings.data_dir / "files").exists()


async def test_duplicate_is_reported_and_limit_is_409(client, owner, workers, settings, tmp_path):
    headers, agent_id = owner
    settings.max_documents_per_agent = 2
    first = docgen.make_pdf(tmp_path / "a.pdf", ["Первый документ про доставку"])
    second = docgen.make_pdf(tmp_path / "b.pdf", ["Второй документ про оплату"])
    third = docgen.make_pdf(tmp_path / "c.pdf", ["Третий документ про возврат"])
    created = await upload(client, headers, agent_id, first)
    again = await upload(client, headers, agent_id, first, "копия.pdf")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["id"] == created.json()["id"]
    assert (await upload(client, headers, agent_id, second)).status_code == 201
    over = await upload(client, headers, agent_id, third)
    assert over.status_code == 409 and over.json()["code"] == "document_limit_reached"
    assert len((await client.get(f"/api/agents/{agent_id}/documents", headers=headers)).json()) == 2


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda p: docgen.make_encrypted_pdf(p / "secret.pdf"), "паролем"),
        (lambda p: docgen.make_truncated(docgen.make_pdf(p / "x.pdf", ["Текст " * 500] * 3), p / "cut.pdf", 0.3), ""),
        (lambda p: docgen.make_zip_bomb_docx(p / "bomb.docx"), ""),
        (lambda p: docgen.make_huge_image(p / "huge.png"), ""),
        (lambda p: docgen.make_truncated(docgen.make_xlsx(p / "t.xlsx", {"Лист": PRICE_ROWS}), p / "cut.xlsx", 0.6), ""),
    ],
)
async def test_hostile_and_broken_files_fail_with_a_reason(client, owner, workers, tmp_path, make, words):
    headers, agent_id = owner
    response = await upload(client, headers, agent_id, make(tmp_path))
    if response.status_code == 415:  # damaged beyond recognition: refused at the door
        return
    assert response.status_code == 201, response.text
    doc = await wait_processed(client, headers, agent_id, response.json()["id"])
    assert doc["status"] == "failed" and len(doc["error"]) > 20
    assert words in doc["error"].lower()
    # The service and its worker carry on.
    ok = await _upload_ready(client, headers, agent_id, docgen.make_pdf(tmp_path / "ok.pdf", ["Всё в порядке"]))
    assert ok["status"] == "ready"


async def test_delete_document_and_agent_remove_files_and_chunks(client, owner, workers, settings, tmp_path):
    headers, agent_id = owner
    doc = await _upload_ready(client, headers, agent_id, docgen.make_pdf(tmp_path / "d.pdf", ["Доставка курьером"]))
    stored = settings.data_dir / "files" / doc["sha256"][:2] / doc["sha256"]
    assert stored.exists()
    assert (await client.delete(f"/api/agents/{agent_id}/documents/{doc['id']}", headers=headers)).status_code == 204
    assert not stored.exists()
    assert await _search(client, headers, agent_id, "доставка") == []

    doc = await _upload_ready(client, headers, agent_id, docgen.make_pdf(tmp_path / "e.pdf", ["Оплата картой"]))
    assert (await client.delete(f"/api/agents/{agent_id}", headers=headers)).status_code == 204
    file = settings.data_dir / "files" / doc["sha256"][:2] / doc["sha256"]

    async def file_gone():
        return not file.exists()

    await until(file_gone)  # the `agent_removed` job


async def test_reprocess_gives_the_same_chunks(client, owner, workers, tmp_path):
    headers, agent_id = owner
    doc = await _upload_ready(client, headers, agent_id, docgen.make_xlsx(tmp_path / "p.xlsx", {"Прайс": PRICE_ROWS}))
    response = await client.post(f"/api/agents/{agent_id}/documents/{doc['id']}/reprocess", headers=headers)
    assert response.status_code == 202
    again = await wait_processed(client, headers, agent_id, doc["id"])
    assert again["chunk_count"] == doc["chunk_count"]
    assert len(await _search(client, headers, agent_id, "XL-42", limit=10)) == 1


async def test_another_users_documents_are_404(client, owner, workers, tmp_path):
    headers, agent_id = owner
    doc = await _upload_ready(client, headers, agent_id, docgen.make_pdf(tmp_path / "d.pdf", ["Секретный прайс"]))
    stranger = await sign_up(client, "stranger@example.com")
    base = f"/api/agents/{agent_id}"
    assert (await client.get(f"{base}/documents", headers=stranger)).status_code == 404
    assert (await client.get(f"{base}/documents/{doc['id']}", headers=stranger)).status_code == 404
    assert (await client.delete(f"{base}/documents/{doc['id']}", headers=stranger)).status_code == 404
    assert (await client.get(f"{base}/search", params={"q": "прайс"}, headers=stranger)).status_code == 404
    assert (await upload(client, stranger, agent_id, tmp_path / "d.pdf")).status_code == 404


@pytest.mark.parametrize("length", [20_000, 100_000])
async def test_a_very_long_file_name_is_refused_in_words(client, owner, tmp_path, settings, length):
    headers, agent_id = owner
    pdf = docgen.make_pdf(tmp_path / "прайс.pdf", ["Доставка по Москве — 300 рублей."])
    response = await upload(client, headers, agent_id, pdf, "прайс" * (length // 10) + ".pdf")
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "filename_too_long"
    assert "Слишком длинное имя файла" in response.json()["detail"]
    assert not list((settings.data_dir / "tmp").iterdir())


async def test_a_long_file_name_under_the_limit_is_kept_cut_to_255_characters(client, owner, tmp_path):
    headers, agent_id = owner
    pdf = docgen.make_pdf(tmp_path / "прайс.pdf", ["Доставка по Москве — 300 рублей."])
    response = await upload(client, headers, agent_id, pdf, "прайс-лист " * 300 + ".pdf")
    assert response.status_code == 201, response.text
    assert response.json()["filename"].startswith("прайс-лист")
    assert len(response.json()["filename"]) == 255
