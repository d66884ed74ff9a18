"""What only the real `botcraft serve` on loopback shows, seen through real clients.

A refused upload must reach urllib, httpx and curl as a 413 with its reason (not a TCP
reset), and a 500 must not cost the client its keep-alive connection.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.helpers import PASSWORD
from tests.service_process import ServiceProcess


@pytest.fixture
def service(settings, tmp_path) -> Iterator[ServiceProcess]:
    with ServiceProcess(settings, tmp_path / "serve", MAX_UPLOAD_MB=1) as running:
        yield running


@pytest.fixture
def owner(service) -> tuple[dict[str, str], int]:
    with httpx.Client(base_url=service.url, timeout=30) as c:
        token = c.post("/api/auth/register", json={"email": "pekarnya@example.com", "password": PASSWORD})
        assert token.status_code == 201, token.text
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        agent = c.post("/api/agents", json={"name": "Пекарня «Колосок»"}, headers=headers)
        assert agent.status_code == 201, agent.text
        return headers, agent.json()["id"]


def _multipart(filename: str, size: int) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            "Content-Type: application/pdf\r\n\r\n").encode()
    return head + b"%PDF-1.7\n" + b"0" * size + f"\r\n--{boundary}--\r\n".encode(), boundary


# Bodies larger than what the kernel buffers on loopback (a few MB), so that a server that
# stops reading cannot hide it. 1.5 MB is past MAX_UPLOAD_MB=1 but inside the route's
# multipart allowance: the handler itself stops counting. 40 MB is refused on its
# Content-Length alone.
@pytest.mark.parametrize("size", [1536 * 1024, 40 * 1024 * 1024])
def test_too_large_upload_reaches_urllib_httpx_and_curl_as_413_with_its_reason(service, owner, tmp_path, size):
    headers, agent_id = owner
    url = f"{service.url}/api/agents/{agent_id}/documents"
    body, boundary = _multipart("прайс-лист.pdf", size)
    content_type = f"multipart/form-data; boundary={boundary}"

    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={**headers, "Content-Type": content_type})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)  # noqa: S310 - loopback
    assert refused.value.code == 413
    assert "1 МБ" in json.loads(refused.value.read())["detail"]

    with httpx.Client(timeout=30) as c:
        response = c.post(url, content=body, headers={**headers, "Content-Type": content_type})
        assert response.status_code == 413
        assert response.json()["code"] in ("file_too_large", "payload_too_large")
        assert "1 МБ" in response.json()["detail"]
        # The connection is still good for the next request, or closed cleanly.
        assert c.get(f"{service.url}/api/agents", headers=headers).status_code == 200

    if shutil.which("curl"):
        path = tmp_path / "big.bin"
        path.write_bytes(body)
        for expect in ("", "100-continue"):  # curl's own default for big bodies, and without it
            done = subprocess.run(  # noqa: S603
                ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "-X", "POST", url,
                 "-H", f"Authorization: {headers['Authorization']}", "-H", f"Content-Type: {content_type}",
                 "-H", f"Expect: {expect}", "--data-binary", f"@{path}"],
                capture_output=True, text=True, timeout=60, check=False,
            )
            assert done.returncode == 0, done.stderr
            text, status = done.stdout.rsplit("\n", 1)
            assert status == "413", (expect, done.stdout)
            assert "1 МБ" in json.loads(text)["detail"]


def test_too_large_chunked_upload_is_a_413_that_httpx_receives(service, owner):
    """No Content-Length: the limit is found while streaming, 1 MB into 40."""
    headers, agent_id = owner
    body, boundary = _multipart("каталог.pdf", 40 * 1024 * 1024)

    def chunks():
        for start in range(0, len(body), 64 * 1024):
            yield body[start:start + 64 * 1024]

    with httpx.Client(timeout=60) as c:
        response = c.post(f"{service.url}/api/agents/{agent_id}/documents", content=chunks(),
                          headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert response.status_code == 413
    assert response.json() == {"detail": "Файл больше 1 МБ — это предельный размер.", "code": "file_too_large"}


def test_too_large_json_body_is_a_413_that_httpx_receives(service, owner):
    headers, _ = owner
    with httpx.Client(base_url=service.url, timeout=30) as c:
        response = c.post("/api/agents", headers=headers,
                          json={"name": "Кафе", "business_description": "ы" * 20_000_000})
    assert response.status_code == 413
    assert response.json() == {"detail": "Запрос слишком большой: предел — 256 KB.", "code": "payload_too_large"}


def test_refusing_an_upload_for_another_users_agent_is_received_too(service, owner):
    """A 404 decided before the body is read is an unread body as well."""
    headers, agent_id = owner
    body, boundary = _multipart("меню.pdf", 512 * 1024)
    with httpx.Client(timeout=30) as c:
        response = c.post(f"{service.url}/api/agents/{agent_id + 1000}/documents", content=body,
                          headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert response.status_code == 404
    assert response.json()["code"] == "agent_not_found"


def _http_exchange(sock: socket.socket, request: bytes) -> bytes:
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head + b"\r\n\r\n" + rest


def test_a_500_keeps_the_keep_alive_connection_and_logs_the_request_id(settings, caplog):
    """The answer to an unexpected error is a JSON 500 in words, on a connection that lives on."""
    from botcraft.app import create_app
    from tests.fakes.server import LiveServer

    app = create_app(settings)

    @app.get("/test-only/boom")
    async def boom() -> None:
        raise ZeroDivisionError("a bug in a handler")

    for http in ("h11", "httptools"):
        with LiveServer(app, http=http) as server, socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.settimeout(10)
            first = _http_exchange(sock, b"GET /test-only/boom HTTP/1.1\r\nHost: x\r\nX-Request-ID: boom-42\r\n\r\n")
            assert first.startswith(b"HTTP/1.1 500"), first
            assert b"x-request-id: boom-42" in first.lower()
            body = json.loads(first.split(b"\r\n\r\n", 1)[1])
            assert body == {"detail": "У нас что-то пошло не так — попробуйте ещё раз.", "code": "internal_error"}
            second = _http_exchange(sock, b"GET /test-only/boom HTTP/1.1\r\nHost: x\r\n\r\n")
            assert second.startswith(b"HTTP/1.1 500"), f"{http}: the connection was dropped after a 500"
    logged = [r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("event") == "unhandled_error"]
    assert any(entry.get("request_id") == "boom-42" and entry.get("error_type") == "ZeroDivisionError"
               for entry in logged), logged
