"""The HTTP client of the calls to a model: a pool that keeps every connection and checks its
idle ones cheaply, and for an owner's own server, public addresses only (botcraft.netguard).

On every request and every response closed, the pool asks each idle connection whether its
server has closed it. Through anyio's attribute lookup that question costs 10 µs a
connection; here it is one poll of the socket, 2 µs. With a slow model and WORKER_CONCURRENCY
(256) turns waiting on it, the lookup was a tenth of the CPU of an answer.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from typing import Any

import httpcore2
import httpx2
from httpcore2._backends.auto import AutoBackend
from httpcore2._utils import is_socket_readable

from botcraft.i18n import N_
from botcraft.netguard import BlockedAddress, public_addresses

# Every connection that may be open at once is kept alive (the SDK keeps 100 of its 1,000):
# with a slow model and 256 turns waiting on it, the other 156 calls each opened a
# connection and closed it again. Idle ones still close after 5 s.
POOL = httpx2.Limits(max_connections=1000, max_keepalive_connections=1000, keepalive_expiry=5.0)


class _Stream(httpcore2.AsyncNetworkStream):
    """A connection whose "has the server closed it?" is one poll of its socket."""

    def __init__(self, inner: httpcore2.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109 - the stream interface
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore2.AsyncNetworkStream:  # noqa: ASYNC109
        return _Stream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._socket is not None:
            return is_socket_readable(self._socket)
        return self._inner.get_extra_info(info)


class _Backend(httpcore2.AsyncNetworkBackend):
    """Connections of _Stream; with `public_only`, to public addresses only, checked at connect time."""

    def __init__(self, *, public_only: bool) -> None:
        self._inner = AutoBackend()
        self._public_only = public_only

    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,  # noqa: ASYNC109 - the backend interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        if self._public_only:
            # TLS still verifies the certificate against `host`: httpcore passes the request's
            # host name to start_tls, not the address connected to.
            host = (await public_addresses(host, port))[0]
        return _Stream(await self._inner.connect_tcp(host, port, timeout=timeout, local_address=local_address,
                                                     socket_options=socket_options))

    async def connect_unix_socket(self, path: str, timeout: float | None = None,  # noqa: ASYNC109
                                  socket_options: Iterable[Any] | None = None) -> httpcore2.AsyncNetworkStream:
        if self._public_only:
            raise BlockedAddress(N_("unix sockets are not reachable for agents"))
        return _Stream(await self._inner.connect_unix_socket(path, timeout=timeout, socket_options=socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def model_http_client(*, public_only: bool) -> httpx2.AsyncClient:
    """The openai SDK's HTTP client (its httpx2) for one base URL and key.

    An owner's server (`public_only`) is reached directly, and its redirects are not
    followed: through a proxy from the environment, the address check would see the
    proxy's address instead of the server's. The platform's own server is reached as the
    SDK's own client reaches it (the environment's proxy, redirects followed). Each call
    passes its own timeout.
    """
    transport = httpx2.AsyncHTTPTransport(trust_env=not public_only, limits=POOL)
    transport._pool._network_backend = _Backend(public_only=public_only)  # no public hook for the backend
    return httpx2.AsyncClient(transport=transport, trust_env=not public_only, limits=POOL,
                              follow_redirects=not public_only)
