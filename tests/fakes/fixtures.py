"""Pytest fixtures for the fakes. Enable with ``pytest_plugins = ["tests.fakes.fixtures"]`` in
the root conftest (or ``-p tests.fakes.fixtures``). Each fixture yields a running fake with
``base_url`` set; state is fresh per test (a server starts in ~10 ms)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fakes.graph_fake import GraphFake
from tests.fakes.openai_fake import OpenAIFake
from tests.fakes.server import LiveServer
from tests.fakes.telegram_fake import TelegramFake


@pytest.fixture
def openai_fake() -> Iterator[OpenAIFake]:
    """Accepts the key ``sk-test-key`` (``openai_fake.api_keys``)."""
    with OpenAIFake().serve() as fake:
        yield fake


@pytest.fixture
def telegram_fake() -> Iterator[TelegramFake]:
    """Register bots with ``telegram_fake.add_bot()``."""
    with TelegramFake().serve() as fake:
        yield fake


@pytest.fixture
def graph_fake() -> Iterator[GraphFake]:
    """Register tokens, numbers and accounts with ``add_token`` / ``add_whatsapp_number`` /
    ``add_instagram_account``."""
    with GraphFake().serve() as fake:
        yield fake


@pytest.fixture
def live_server() -> Iterator[Callable[[Any], str]]:
    """``url = live_server(asgi_app)``: serve any ASGI app until the test ends."""
    servers: list[LiveServer] = []

    def start(app: Any) -> str:
        server = LiveServer(app).start()
        servers.append(server)
        return server.url

    yield start
    for server in reversed(servers):
        server.stop()


@pytest.fixture
def embeddings_fake() -> Iterator[Any]:
    """Script 429s, errors, wrong dimensions and delays with ``embeddings_fake.rate_limit()`` etc."""
    from tests.fakes.embeddings_fake import EmbeddingsFake

    with EmbeddingsFake().serve() as fake:
        yield fake
