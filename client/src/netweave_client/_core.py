"""What the sync and async clients share: a request described once (`Call`: what to send and how to read the
answer), the retry policy, and the reading of errors and paging links. No I/O here."""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter

from netweave_client.errors import problem_error

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
USER_AGENT = "netweave-client/0.1"


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request and the reading of its successful answer. `path` is relative to the client's base URL, or an
    absolute URL (a `Link: rel="next"` the gateway sent)."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def follow(self, url: str) -> Call[T]:
        """The same call for the next page: the link carries every query parameter itself."""
        return replace(self, path=url, params={})


def model(cls: type[M]) -> Callable[[httpx.Response], M]:
    return lambda response: cls.model_validate(response.json())


def model_list(cls: type[M]) -> Callable[[httpx.Response], list[M]]:
    adapter = TypeAdapter(list[cls])  # type: ignore[valid-type]
    return lambda response: list(adapter.validate_python(response.json()))


def json_body(response: httpx.Response) -> Any:
    return response.json()


def nothing(response: httpx.Response) -> None:
    return None


def body(value: BaseModel) -> dict[str, Any]:
    """A request model on the wire: wire names, nothing unset."""
    return value.model_dump(by_alias=True, exclude_none=True, exclude_unset=True, mode="json")


def query(**values: str | int | bool | list[str] | None) -> dict[str, str]:
    """Query parameters; `True` is a bare flag (`?all_fields`), lists are comma-joined (`fields=a,b`)."""
    params: dict[str, str] = {}
    for name, value in values.items():
        if value is None or value is False:
            continue
        if value is True:
            params[name] = ""
        elif isinstance(value, list):
            params[name] = ",".join(value)
        else:
            params[name] = str(value)
    return params


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of 429 and 503: at most `attempts` sends in all; the wait is the answer's `Retry-After` when it gives
    one, else exponential backoff with full jitter; never longer than `max_delay` (a gateway asking for an hour is
    answered by giving up, not by hanging)."""

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    statuses: frozenset[int] = frozenset({429, 503})

    def delay(self, response: httpx.Response, attempt: int, now: float | None = None) -> float | None:
        """Seconds to wait before send number `attempt + 1` (attempt counts from 1), or None: do not retry."""
        if response.status_code not in self.statuses or attempt >= self.attempts:
            return None
        told = retry_after(response.headers.get("retry-after"), time.time() if now is None else now)
        if told is not None:
            return min(told, self.max_delay)
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


def retry_after(value: str | None, now: float) -> float | None:
    """RFC 9110 §10.2.3: delay-seconds or an HTTP-date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def build(http: httpx.Client | httpx.AsyncClient, call: Call[Any], token: str | None) -> httpx.Request:
    headers = {"Accept": "application/json", **call.headers}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return http.build_request(call.method, call.path, params=call.params or None, json=call.json,
                              content=call.content, headers=headers)


def checked(response: httpx.Response) -> httpx.Response:
    if response.status_code >= 400:
        raise problem_error(response)
    return response


def next_link(response: httpx.Response) -> str | None:
    link = response.links.get("next")
    return link.get("url") if link else None
