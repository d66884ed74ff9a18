"""aiogram's Telegram types are built on first use, and each of them still can be.

Run in a fresh interpreter: the point is what importing BotCraft does to an aiogram that was
not imported yet.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

_PROBE = textwrap.dedent(
    """
    import importlib.resources
    import json
    import botcraft.app  # the serving process: it imports aiogram through channels, owner, notifications
    import aiogram
    import aiogram.methods as methods
    import aiogram.types as types
    from pydantic import BaseModel

    unbuilt_at_start = [n for n in ("Update", "Message", "User", "Chat") if not getattr(types, n).__pydantic_complete__]

    update = types.Update.model_validate({"update_id": 7, "message": {"message_id": 1, "date": 0,
        "chat": {"id": 42, "type": "private"}, "from": {"id": 42, "is_bot": False, "first_name": "Ольга"},
        "text": "Сколько стоит доставка?"}})
    sent = methods.SendMessage(chat_id=42, text="Доставка бесплатная", reply_markup=types.InlineKeyboardMarkup(
        inline_keyboard=[[types.InlineKeyboardButton(text="Открыть", web_app=types.WebAppInfo(url="https://example.org"))]]))
    reply = methods.Response[types.Message].model_validate({"ok": True, "result": {"message_id": 2, "date": 0,
        "chat": {"id": 42, "type": "private"}, "text": "Доставка бесплатная"}})

    unbuildable = []
    for module in (types, methods):
        for name in module.__all__:
            model = getattr(module, name)
            if isinstance(model, type) and issubclass(model, BaseModel) and not model.__pydantic_generic_metadata__["parameters"]:
                try:  # what a first use does, without the caller's frames to look names up in
                    model.model_rebuild(_parent_namespace_depth=0)
                except Exception as exc:
                    unbuildable.append(f"{name}: {exc}")
    print(json.dumps({
        "unbuilt_at_start": unbuilt_at_start,
        "text": update.message.text,
        "first_name": update.message.from_user.first_name,
        "button": sent.model_dump(exclude_none=True)["reply_markup"]["inline_keyboard"][0][0]["text"],
        "reply": reply.result.text,
        "unbuildable": unbuildable,
        # the package's own files stay reachable through its (wrapped) loader
        "package_files": importlib.resources.files(aiogram).joinpath("__init__.py").is_file(),
    }))
    """
)


def test_the_app_leaves_telegram_types_unbuilt_and_every_one_builds_on_first_use() -> None:
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["unbuilt_at_start"] == ["Update", "Message", "User", "Chat"]
    assert seen["text"] == "Сколько стоит доставка?"
    assert seen["first_name"] == "Ольга"
    assert seen["button"] == "Открыть"
    assert seen["reply"] == "Доставка бесплатная"
    assert seen["unbuildable"] == []
    assert seen["package_files"] is True
