import hashlib
import time

import pytest
from sqlalchemy import select

from botcraft.models import User
from tests.helpers import PASSWORD, sign_up
from tests.unit.test_telegram_initdata import BOT_TOKEN, make_init_data


async def test_register_login_me_logout(client):
    headers = await sign_up(client, "Anna.Smirnova@Example.COM")
    me = await client.get("/api/auth/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["email"] == "anna.smirnova@example.com"
    assert me.json()["limits"] == {"max_agents_per_user": 5, "max_upload_mb": 10, "max_documents_per_agent": 50}

    login = await client.post("/api/auth/email", json={"email": "anna.smirnova@example.com", "password": PASSWORD})
    assert login.status_code == 200
    body = login.json()
    assert body["token_type"] == "bearer" and body["expires_at"] and body["user"]["id"] == me.json()["id"]

    assert (await client.post("/api/auth/logout", headers=headers)).status_code == 200
    after = await client.get("/api/auth/me", headers=headers)
    assert after.status_code == 401 and after.json()["code"] == "session_revoked"
    # The other session is untouched.
    other = {"Authorization": f"Bearer {body['access_token']}"}
    assert (await client.get("/api/auth/me", headers=other)).status_code == 200


async def test_wrong_email_and_wrong_password_get_the_same_answer(client):
    await sign_up(client)
    wrong_password = await client.post("/api/auth/email", json={"email": "owner@example.com", "password": "не тот пароль"})
    no_account = await client.post("/api/auth/email", json={"email": "nobody@example.com", "password": PASSWORD})
    assert wrong_password.status_code == no_account.status_code == 401
    assert wrong_password.json() == no_account.json()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"email": "not-an-email", "password": "длинный-пароль"}, "email"),
        ({"email": "a@example.com", "password": "short"}, "password"),
        ({"email": "a@example.com"}, "password"),
    ],
)
async def test_registration_validates_fields(client, body, field):
    response = await client.post("/api/auth/register", json=body)
    assert response.status_code == 422
    assert field in response.json()["detail"]


async def test_duplicate_registration_is_a_conflict(client):
    await sign_up(client)
    again = await client.post("/api/auth/register", json={"email": "OWNER@example.com", "password": PASSWORD})
    assert again.status_code == 409 and again.json()["code"] == "email_taken"


async def test_garbage_tokens_and_malformed_json(client):
    for token in ("abc", "a.b.c", "Bearer"):
        response = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
    assert (await client.get("/api/auth/me")).status_code == 401
    bad = await client.post("/api/auth/email", content=b"{not json", headers={"Content-Type": "application/json"})
    assert bad.status_code == 422 and "JSON" in bad.json()["detail"]


async def test_expired_session_is_refused(client, app):
    headers = await sign_up(client)
    from datetime import timedelta

    from botcraft.models import Session, utcnow

    async with app.state.db.transaction() as db:
        for session in await db.scalars(select(Session)):
            session.expires_at = utcnow() - timedelta(seconds=1)
    response = await client.get("/api/auth/me", headers=headers)
    assert response.status_code == 401 and response.json()["code"] == "session_expired"


async def test_inactive_user_is_refused(client, app):
    headers = await sign_up(client)
    async with app.state.db.transaction() as db:
        (await db.scalar(select(User))).is_active = False
    assert (await client.get("/api/auth/me", headers=headers)).status_code == 401


async def test_legacy_sha256_hash_is_accepted_once_and_upgraded(client, app):
    salt = "s4lt-from-the-seed"
    async with app.state.db.transaction() as db:
        db.add(User(email="legacy@example.com", salt=salt,
                    password_hash=hashlib.sha256(("старый-пароль" + salt).encode()).hexdigest()))
    login = await client.post("/api/auth/email", json={"email": "legacy@example.com", "password": "старый-пароль"})
    assert login.status_code == 200
    async with app.state.db.transaction() as db:
        user = await db.scalar(select(User).where(User.email == "legacy@example.com"))
        assert user.password_hash.startswith("$argon2id$") and user.salt is None
    again = await client.post("/api/auth/email", json={"email": "legacy@example.com", "password": "старый-пароль"})
    assert again.status_code == 200


async def test_login_attempts_are_rate_limited(client):
    await sign_up(client)
    statuses = []
    for _ in range(11):
        r = await client.post("/api/auth/email", json={"email": "owner@example.com", "password": "неверный-пароль"})
        statuses.append(r.status_code)
    assert statuses == [401] * 10 + [429]
    assert int(r.headers["Retry-After"]) >= 1


@pytest.fixture
def telegram_settings(settings, tg):
    # The platform bot sets itself up at start: against the fake, never the real Bot API.
    settings.telegram_token = BOT_TOKEN
    return settings


async def test_telegram_login_creates_then_finds_the_user(telegram_settings, client):
    first = await client.post("/api/auth/telegram", json={"initData": make_init_data()})
    assert first.status_code == 200, first.text
    second = await client.post("/api/auth/telegram", json={"initData": make_init_data()})
    assert second.json()["user"]["id"] == first.json()["user"]["id"]
    assert first.json()["user"]["telegram_id"] == 279058397
    assert first.json()["user"]["display_name"] == "Иван Петров"


@pytest.mark.parametrize(
    "init_data, reason",
    [
        (lambda: make_init_data().replace("ivan_p", "hacker"), "Подпись данных входа не совпадает"),
        (lambda: make_init_data(auth_date=int(time.time()) - 100_000), "устарели"),
        (lambda: make_init_data().split("&hash=")[0], "не подписаны"),
        (lambda: make_init_data().split("&hash=")[0] + "&hash=ЖЖЖЖ", "Подпись данных входа из Telegram повреждена"),
        (lambda: "user=%7B%7D&auth_date=1", "не подписаны"),
    ],
)
async def test_bad_telegram_data_is_401_with_a_reason(telegram_settings, client, init_data, reason):
    """The Mini App shows the reason as it is: in Russian, saying what to do."""
    response = await client.post("/api/auth/telegram", json={"initData": init_data()})
    assert response.status_code == 401
    assert reason in response.json()["detail"] and "откройте приложение" in response.json()["detail"].lower()


async def test_signed_in_email_user_links_telegram(telegram_settings, client):
    headers = await sign_up(client)
    linked = await client.post("/api/auth/telegram", json={"initData": make_init_data()}, headers=headers)
    assert linked.status_code == 200
    assert linked.json()["user"]["email"] == "owner@example.com"
    assert linked.json()["user"]["telegram_id"] == 279058397
    # From now on Telegram sign-in finds the same account.
    plain = await client.post("/api/auth/telegram", json={"initData": make_init_data()})
    assert plain.json()["user"]["email"] == "owner@example.com"


async def test_telegram_login_without_a_configured_bot_is_503(client):
    response = await client.post("/api/auth/telegram", json={"initData": make_init_data()})
    assert response.status_code == 503 and response.json()["code"] == "telegram_not_configured"


@pytest.mark.parametrize("password", [" " * 8, "\t" * 10, " \u00a0 \u2003   \n"])
async def test_a_password_of_only_spaces_is_refused_in_words(client, password):
    response = await client.post("/api/auth/register", json={"email": "pustoy@example.com", "password": password})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "password", "message": "не может состоять только из пробелов"}]


async def test_a_strangers_wrong_guesses_do_not_lock_the_owner_out(app):
    """Ten wrong passwords from another address; the owner still signs in from their own."""
    import httpx

    def from_address(ip: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(ip, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    async with from_address("198.51.100.7") as owner, from_address("203.0.113.66") as stranger:
        await sign_up(owner, "vladelec@example.com")
        for _ in range(12):
            guess = await stranger.post("/api/auth/email", json={"email": "vladelec@example.com", "password": "угадаю-пароль"})
        assert guess.status_code == 429
        assert int(guess.headers["Retry-After"]) >= 1
        signed_in = await owner.post("/api/auth/email", json={"email": "vladelec@example.com", "password": PASSWORD})
        assert signed_in.status_code == 200, signed_in.text


async def test_guesses_from_many_addresses_meet_the_per_account_ceiling(app, settings):
    import httpx

    app.state.login_limiter = type(app.state.login_limiter)(3, account_ceiling=5, address_ceiling=50)
    statuses = []
    for n in range(7):
        transport = httpx.ASGITransport(app=app, client=(f"203.0.113.{n + 1}", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            if n == 0:
                await sign_up(c, "vladelec@example.com")
            r = await c.post("/api/auth/email", json={"email": "vladelec@example.com", "password": "угадаю-пароль"})
            statuses.append(r.status_code)
    assert statuses == [401] * 5 + [429] * 2
