"""The HTTP client of the calls to a model: the openai SDK's aiohttp transport, and for an
owner's own server, public addresses only (botcraft.netguard).

Not httpx2's own pool: httpcore2 walks every connection it holds on each request and each
response (to find a free one, to drop the expired), so with a slow model and
WORKER_CONCURRENCY (512) turns waiting on it, the walks grew with the square of the calls in
flight and were a tenth of an answer's CPU. aiohttp's connector hands out a kept connection
without a walk. The transport is the one `openai.DefaultAioHttpClient` uses; it is built
here because that client offers no way to give its connector a resolver.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import aiohttp
import httpcore2
import httpx2
from aiohttp.abc import AbstractResolver, ResolveResult
from openai._vendor.httpx_aiohttp.transport import AiohttpTransport

from botcraft.netguard import literal_address, public_addresses

# Every connection that may be open at once is kept alive (the SDK keeps 100 of its 1,000):
# with a slow model and hundreds of turns waiting on it, every call beyond those 100 opened
# a connection and closed it again. Idle ones still close after 5 s.
POOL = httpx2.Limits(max_connections=1000, max_keepalive_connections=1000, keepalive_expiry=5.0)


class _PublicResolver(AbstractResolver):
    """Host names resolve through netguard: a host with any private address is refused."""

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        # TLS still verifies the certificate against `host`: aiohttp connects to the address
        # but hands the host name to the handshake.
        return [
            ResolveResult(hostname=host, host=address, port=port, proto=0, flags=socket.AI_NUMERICHOST,
                          family=socket.AF_INET6 if ":" in address else socket.AF_INET)
            for address in await public_addresses(host, port)
        ]

    async def close(self) -> None:
        return None


class _ModelTransport(AiohttpTransport):
    """One aiohttp session per client; with `public_only`, every address checked when connecting."""

    def __init__(self, *, public_only: bool) -> None:
        super().__init__(limits=POOL, trust_env=not public_only, client=self._new_session)
        self._public_only = public_only

    def _new_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=POOL.max_connections or 0, keepalive_timeout=POOL.keepalive_expiry, ssl=self.ssl_context,
            resolver=_PublicResolver() if self._public_only else None)
        return aiohttp.ClientSession(connector=connector)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        try:
            if self._public_only and literal_address(request.url.host) is not None:
                # aiohttp connects to an address in the URL without asking the resolver.
                await public_addresses(request.url.host, request.url.port or 0)
            return await super().handle_async_request(request)
        except httpcore2.ConnectError as exc:  # netguard's refusals: the SDK knows httpx2's errors only
            raise httpx2.ConnectError(str(exc), request=request) from exc


def model_http_client(*, public_only: bool) -> httpx2.AsyncClient:
    """The openai SDK's HTTP client (its httpx2) for one base URL and key.

    An owner's server (`public_only`) is reached directly, and its redirects are not
    followed: through a proxy from the environment, the address check would see the
    proxy's address instead of the server's. The platform's own server is reached as the
    SDK's own client reaches it (the environment's proxy, redirects followed). Each call
    passes its own timeout.
    """
    return httpx2.AsyncClient(transport=_ModelTransport(public_only=public_only), trust_env=not public_only,
                              limits=POOL, follow_redirects=not public_only)


async def close_later(client: Any, seconds: float) -> None:
    """Close a client no longer handed out once the calls that may still use it are over."""
    await asyncio.sleep(seconds)
    await client.close()
