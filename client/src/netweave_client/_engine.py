"""The two ways of sending a `Call`: blocking (httpx.Client) and asyncio (httpx.AsyncClient). Each is the same short
loop around the shared pieces of `_core` and `auth`: get a token (refreshing it when due), send, retry 429/503 as
the policy says, retry once with a fresh token after a 401, raise the problem or parse the answer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Generic, TypeVar

import httpx

from netweave_client._core import USER_AGENT, Call, RetryPolicy, build, checked, next_link
from netweave_client.auth import TokenProvider

T = TypeVar("T")


class SyncEngine:
    def __init__(self, http: httpx.Client, token: TokenProvider | None, retry: RetryPolicy,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time) -> None:
        self.http, self.token, self.retry, self.sleep, self.clock = http, token, retry, sleep, clock
        http.headers.setdefault("User-Agent", USER_AGENT)

    def _bearer(self) -> str | None:
        if self.token is None:
            return None
        cached = self.token.cached(self.clock())
        if cached is not None:
            return cached
        return self.token.accept(self.http.send(self.token.refresh_request()), self.clock())

    def send(self, call: Call[Any]) -> httpx.Response:
        attempt, refreshed = 1, False
        while True:
            response = self.http.send(build(self.http, call, self._bearer()))
            if response.status_code == 401 and self.token is not None and not refreshed:
                refreshed = True
                self.token.invalidate()
                if self.token.cached(self.clock()) is None:  # only a refreshable token is worth a second try
                    continue
            delay = self.retry.delay(response, attempt, self.clock())
            if delay is None:
                return checked(response)
            response.close()
            self.sleep(delay)
            attempt += 1

    def run(self, call: Call[T]) -> T:
        return call.parse(self.send(call))


class AsyncEngine:
    def __init__(self, http: httpx.AsyncClient, token: TokenProvider | None, retry: RetryPolicy,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 clock: Callable[[], float] = time.time) -> None:
        self.http, self.token, self.retry, self.sleep, self.clock = http, token, retry, sleep, clock
        http.headers.setdefault("User-Agent", USER_AGENT)

    async def _bearer(self) -> str | None:
        if self.token is None:
            return None
        cached = self.token.cached(self.clock())
        if cached is not None:
            return cached
        return self.token.accept(await self.http.send(self.token.refresh_request()), self.clock())

    async def send(self, call: Call[Any]) -> httpx.Response:
        attempt, refreshed = 1, False
        while True:
            response = await self.http.send(build(self.http, call, await self._bearer()))
            if response.status_code == 401 and self.token is not None and not refreshed:
                refreshed = True
                self.token.invalidate()
                if self.token.cached(self.clock()) is None:
                    continue
            delay = self.retry.delay(response, attempt, self.clock())
            if delay is None:
                return checked(response)
            await response.aclose()
            await self.sleep(delay)
            attempt += 1

    async def run(self, call: Call[T]) -> T:
        return call.parse(await self.send(call))


class Pager(Generic[T]):
    """A collection, fetched page by page as it is iterated (following `Link: rel="next"`)."""

    def __init__(self, engine: SyncEngine, call: Call[list[T]]) -> None:
        self._engine, self._call = engine, call

    def pages(self) -> Iterator[list[T]]:
        call: Call[list[T]] | None = self._call
        while call is not None:
            response = self._engine.send(call)
            yield call.parse(response)
            url = next_link(response)
            call = call.follow(url) if url else None

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page

    def all(self) -> list[T]:
        return list(self)


class AsyncPager(Generic[T]):
    """`async for item in pager`, or `await pager.all()`."""

    def __init__(self, engine: AsyncEngine, call: Call[list[T]]) -> None:
        self._engine, self._call = engine, call

    async def pages(self) -> AsyncIterator[list[T]]:
        call: Call[list[T]] | None = self._call
        while call is not None:
            response = await self._engine.send(call)
            yield call.parse(response)
            url = next_link(response)
            call = call.follow(url) if url else None

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page:
                yield item

    async def all(self) -> list[T]:
        return [item async for item in self]
