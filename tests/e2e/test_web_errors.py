"""Failures the owner meets, each shown in words (never a blank or stuck page)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.docgen import make_exe
from tests.e2e.support import PASSWORD, local_storage_token, shot, wait_ready

pytestmark = pytest.mark.browser


def _expire_sessions(live) -> None:
    from sqlalchemy import update

    from botcraft.models import Session, utcnow

    async def expire() -> None:
        async with live.app.state.db.transaction() as db:
            await db.execute(update(Session).values(expires_at=utcnow() - timedelta(minutes=1)))

    live.run(expire())


def test_wrong_password_sixth_agent_unsupported_file_and_expired_session(
        serve_app, new_page, tmp_path):
    live = serve_app()
    live.register("owner@shop.ru")
    page = new_page()
    page.goto(live.url + "/")
    wait_ready(page, "login")

    # ------------------------------------------------ a wrong password
    page.get_by_label("E-mail").fill("owner@shop.ru")
    page.get_by_label("Пароль").fill("not-my-password")
    page.get_by_role("button", name="Войти", exact=True).click()
    error = page.locator(".form-error")
    expect(error).to_have_text("Неверный e-mail или пароль. Впервые здесь? Сначала зарегистрируйтесь.")
    expect(page.get_by_label("Пароль")).to_be_focused()
    shot(page, "30-error-wrong-password")
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_label("Пароль").press("Enter")  # the keyboard is enough
    wait_ready(page, "agents")

    # ------------------------------------------------ a 6th agent
    with live.client(local_storage_token(page)) as api:
        ids = [api.post("/api/agents", json={"name": f"Магазин {n}"}).json()["id"]
               for n in range(1, 6)]
    page.reload()
    wait_ready(page, "agents")
    expect(page.locator("#agents-count")).to_have_text("5 из 5")
    page.get_by_role("link", name="Новый ассистент").click()
    expect(page.locator(".limit-slot .alert")).to_have_text(
        "Достигнут лимит: 5 ассистентов. Удалите ненужного, чтобы создать нового.")
    assert page.evaluate("() => document.body.dataset.screen") == "agents"
    shot(page, "31-error-agent-limit")
    # The server's own refusal, when the form is reached anyway (another tab, a bookmark).
    page.goto(live.url + "/#/agents/new")
    wait_ready(page, "agent-new")
    page.get_by_label("Название").fill("Шестой")
    page.get_by_role("button", name="Создать ассистента").click()
    expect(page.locator(".form-error")).to_have_text(
        "Достигнут лимит ассистентов. Удалите ненужного, чтобы создать нового.")

    # Delete one, with confirmation (first declined, then confirmed from the keyboard).
    page.goto(f"{live.url}/#/agents/{ids[4]}/settings")
    wait_ready(page, "agent-settings")
    page.get_by_role("button", name="Удалить ассистента").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Удалить ассистента «Магазин 5»")
    shot(page, "34-confirm-delete")
    dialog.get_by_role("button", name="Отмена").click()
    expect(dialog).to_have_count(0)
    page.get_by_role("button", name="Удалить ассистента").click()
    expect(page.get_by_role("dialog").get_by_role("button", name="Удалить")).to_be_focused()
    page.keyboard.press("Enter")
    wait_ready(page, "agents")
    expect(page.locator("#agents-count")).to_have_text("4 из 5")
    expect(page.get_by_text("Магазин 5")).to_have_count(0)

    # ------------------------------------------------ an unsupported file
    page.goto(f"{live.url}/#/agents/{ids[0]}/knowledge")
    wait_ready(page, "knowledge")
    page.locator("input[type=file]").set_input_files(str(make_exe(tmp_path / "прайс.exe")))
    failed = page.locator(".upload.failed")
    expect(failed.locator(".doc-error")).to_have_text(
        "Файл «прайс.exe» не поддерживается. Подходят PDF, DOCX, XLSX, JPG и PNG.")
    expect(page.locator(".doc")).to_have_count(0)
    shot(page, "32-error-unsupported-file")
    failed.get_by_role("button", name="Закрыть: прайс.exe").click()
    expect(failed).to_have_count(0)

    # ------------------------------------------------ an agent that is gone: words and a retry
    page.goto(f"{live.url}/#/agents/999999/channels")
    expect(page.get_by_role("alert")).to_have_text("Ассистент не найден — возможно, его удалили.")
    expect(page.get_by_role("button", name="Повторить")).to_be_visible()

    # ------------------------------------------------ an expired session, met mid-work
    page.goto(f"{live.url}/#/agents/{ids[0]}/settings")
    wait_ready(page, "agent-settings")
    _expire_sessions(live)
    page.get_by_role("link", name="Диалоги").click()
    wait_ready(page, "login")
    expect(page.get_by_role("alert")).to_have_text("Сессия истекла — войдите снова.")
    assert local_storage_token(page) is None
    shot(page, "33-error-session-expired")

    # ... and a token the server never issued, met on opening the app.
    page.evaluate("() => localStorage.setItem('botcraft.token', 'not-a-real-token')")
    page.goto(live.url + "/#/agents")
    page.reload()
    wait_ready(page, "login")
    expect(page.get_by_role("alert")).to_have_text("Сессия истекла — войдите снова.")
