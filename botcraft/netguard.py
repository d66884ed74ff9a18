"""Owner-chosen URLs reach only the public internet: checked when saved and again when connected.

An owner can point an agent at a server of their own (an OpenAI-compatible LLM). Such a URL
must not reach the operator's own network (loopback, private ranges, link-local, cloud
metadata at 169.254.169.254), or an owner could make the server call internal services for
them. The check at save time gives the owner a clear message; the check at connect time
pins each connection to an address that was checked, so a DNS answer that changes in
between (rebinding) cannot pass (the model calls' client, botcraft.llm.transport, connects
through public_addresses()). ALLOW_PRIVATE_URLS=true lifts both for an install whose
owner is its operator (Ollama on localhost, say).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

import httpcore2

from botcraft.i18n import N_

_IP = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedAddress(httpcore2.ConnectError):
    """The URL's host is, or resolves to, an address owners may not reach."""


def url_problem(url: str) -> str | None:
    """Why `url` cannot be an owner's server URL, in words; None when it can."""
    if not url.isascii() and not _idna_ok(url):
        return N_("must contain only Latin letters, digits and URL punctuation")
    if not url.isprintable() or any(ch.isspace() for ch in url):
        return N_("must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        return N_("is not a valid URL")
    if parts.scheme not in ("http", "https"):
        return N_("must start with http:// or https://")
    if not parts.hostname:
        return N_("must name a host, such as https://api.example.com/v1")
    return None


def _idna_ok(url: str) -> bool:
    """A URL whose only non-ASCII part is an internationalised host name (пример.рф)."""
    try:
        host = urlsplit(url).hostname or ""
        host.encode("idna")
    except (ValueError, UnicodeError):
        return False
    return url.replace(host, "", 1).isascii() if host else False


def is_public(address: _IP) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def literal_address(host: str) -> _IP | None:
    """The address a host written as an IP literal ("10.0.0.1", "[::1]") names; None for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


async def public_addresses(host: str, port: int) -> list[str]:
    """The host's addresses, all of them public; BlockedAddress when any is not.

    Refusing a host with even one private address is deliberate: a client may connect to
    any of them, and an attacker's DNS would simply list a private one beside a public one.
    """
    literal = literal_address(host)
    if literal is not None:
        found = [str(literal)]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore2.ConnectError(N_("the host {host} could not be resolved").format(host=host)) from exc
        found = list(dict.fromkeys(str(info[4][0]) for info in infos))
    blocked = [a for a in found if not is_public(ipaddress.ip_address(a.split("%", 1)[0]))]
    if blocked or not found:
        raise BlockedAddress(N_("{host} is a private or local address, which agents may not reach").format(host=host))
    return found


async def check_public_url(url: str) -> str | None:
    """Why `url` may not be reached for an owner, in words; None when it may (at save time)."""
    parts = urlsplit(url)
    try:
        await public_addresses(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
    except httpcore2.ConnectError as exc:
        return str(exc)
    return None
