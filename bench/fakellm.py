"""A minimal, fast OpenAI-compatible server for throughput benchmarks.

    python -m bench.fakellm PORT [DELAY_SECONDS]

Speaks the real chat.completions protocol (POST /v1/chat/completions, non-streaming
`chat.completion` objects with usage; GET /v1/models) over HTTP/1.1 keep-alive, on a bare
asyncio protocol with uvloop: tests/fakes/openai_fake.py (Starlette, request recording,
scripting) costs more CPU per request than the engine under test on a 2-core machine.
With DELAY_SECONDS every answer is sent that long after its request arrived, without
blocking other requests (as a slow model would); `POST /control/delay` with `{"seconds": 2}`
changes it while the server runs (the bench switches one server between phases).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

REPLY = "Доставка по Москве стоит 300 ₽ и занимает один день [1]."


class _Protocol(asyncio.Protocol):
    delay = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.buffer = b""
        self.loop = asyncio.get_running_loop()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            method, path = head.split(" ", 2)[:2]
            response = self._answer(method, path, body)
            if self.delay and path.endswith("/chat/completions"):
                self.loop.call_later(self.delay, self._write, response)
            else:
                self._write(response)

    def _write(self, response: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(response)

    def _answer(self, method: str, path: str, body: bytes) -> bytes:
        if method == "POST" and path == "/control/delay":
            _Protocol.delay = float(json.loads(body)["seconds"])
            return _http(200, {"delay": _Protocol.delay})
        if method == "POST" and path.endswith("/chat/completions"):
            request = json.loads(body)
            prompt = sum(len(str(m.get("content", ""))) for m in request.get("messages", [])) // 4
            payload = {
                "id": f"chatcmpl-{time.time_ns()}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": request.get("model", "fake"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": REPLY},
                        "finish_reason": "stop",
                        "logprobs": None,
                    }
                ],
                "usage": {"prompt_tokens": prompt, "completion_tokens": 16, "total_tokens": prompt + 16},
            }
            return _http(200, payload)
        if method == "GET" and path.endswith("/models"):
            return _http(
                200, {"object": "list", "data": [{"id": "fake", "object": "model", "created": 0, "owned_by": "bench"}]}
            )
        return _http(
            404,
            {"error": {"message": "not found", "type": "invalid_request_error", "param": None, "code": "not_found"}},
        )


def _http(status: int, payload: dict[str, object]) -> bytes:
    body = json.dumps(payload, ensure_ascii=False).encode()
    reason = "OK" if status == 200 else "Not Found"
    return (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: keep-alive\r\n\r\n"
    ).encode() + body


async def serve(port: int, delay: float) -> None:
    _Protocol.delay = delay
    server = await asyncio.get_running_loop().create_server(_Protocol, "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


def main() -> None:
    port = int(sys.argv[1])
    delay = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    try:
        import uvloop

        uvloop.run(serve(port, delay))
    except ImportError:
        asyncio.run(serve(port, delay))


if __name__ == "__main__":
    main()
