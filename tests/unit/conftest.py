"""Fixtures the `netweave` command line's unit tests share."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from netweave_client.cli import config

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture()
def requests(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Handler], list[httpx.Request]]]:
    """Install a handler as the CLI's network; returns the requests it saw."""
    for name in ("NETWEAVE_URL", "NETWEAVE_TOKEN", "NETWEAVE_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETWEAVE_CONFIG", "/nonexistent/profiles.yaml")

    def install(handler: Handler) -> list[httpx.Request]:
        seen: list[httpx.Request] = []

        def record(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return handler(request)

        monkeypatch.setattr(config, "CLIENT_OPTIONS", {"transport": httpx.MockTransport(record),
                                                       "sleep": lambda _: None})
        return seen

    yield install
