"""`Client` (blocking, httpx.Client) and `AsyncClient` (asyncio, httpx.AsyncClient): the same API in four namespaces,
`inventory`, `alarms`, `dms` and `provisioning`.

    with Client("http://127.0.0.1:8000", token=Path(".local/token")) as nw:
        for pool in nw.inventory.resource_pools(filter="(eq,name,far-edge-du)"):
            print(pool.resource_pool_id)
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

from netweave_client._core import RetryPolicy
from netweave_client._engine import AsyncEngine, SyncEngine
from netweave_client.auth import TokenProvider, as_provider
from netweave_client.dms_facades import AsyncDms, Dms
from netweave_client.inventory import AsyncInventory, Inventory
from netweave_client.monitoring import AsyncMonitoring, Monitoring
from netweave_client.provisioning_facades import AsyncProvisioning, Provisioning

LOCAL_URL = "http://127.0.0.1:8000"
Token = str | Path | TokenProvider | None


def local_token_file(start: Path | None = None) -> Path | None:
    """`.local/token` of the netweave checkout containing `start` (the local stack writes it), if any."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / ".local" / "token"
        if candidate.is_file():
            return candidate
    return None


def from_environment(url: str | None, token: Token) -> tuple[str, Token]:
    """Explicit values win; then `NETWEAVE_URL` / `NETWEAVE_TOKEN` (a token, or `@path` of a file holding one);
    then the local stack's URL and `.local/token` when run inside the checkout."""
    url = url or os.environ.get("NETWEAVE_URL") or LOCAL_URL
    value = os.environ.get("NETWEAVE_TOKEN")
    if token is None and value:
        token = Path(value[1:]).expanduser() if value.startswith("@") else value
    return url, token if token is not None else local_token_file()


class Client:
    def __init__(self, url: str | None = None, token: Token = None, *, timeout: float = 30.0,
                 retry: RetryPolicy | None = None, transport: httpx.BaseTransport | None = None,
                 verify: bool | str = True, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time) -> None:
        """`url`/`token` default as `from_environment` says; `transport`, `sleep` and `clock` replace the network
        and time (tests)."""
        url, token = from_environment(url, token)
        self.http = httpx.Client(base_url=url, timeout=timeout, transport=transport, verify=verify)
        engine = SyncEngine(self.http, as_provider(token), retry or RetryPolicy(), sleep, clock)
        self.inventory = Inventory(engine)
        self.alarms = Monitoring(engine)
        self.dms = Dms(engine)
        self.provisioning = Provisioning(engine)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


class AsyncClient:
    def __init__(self, url: str | None = None, token: Token = None, *, timeout: float = 30.0,
                 retry: RetryPolicy | None = None, transport: httpx.AsyncBaseTransport | None = None,
                 verify: bool | str = True, sleep: Callable[[float], Awaitable[None]] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        import asyncio

        url, token = from_environment(url, token)
        self.http = httpx.AsyncClient(base_url=url, timeout=timeout, transport=transport, verify=verify)
        engine = AsyncEngine(self.http, as_provider(token), retry or RetryPolicy(), sleep or asyncio.sleep, clock)
        self.inventory = AsyncInventory(engine)
        self.alarms = AsyncMonitoring(engine)
        self.dms = AsyncDms(engine)
        self.provisioning = AsyncProvisioning(engine)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.aclose()
