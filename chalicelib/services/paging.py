"""One page of a DynamoDB-backed collection under the O2 query language, shared by every collection service.

Pages come from DynamoDB in key order. Without a filter a page costs one query of `limit` items; with a filter,
queries continue in larger chunks only until the page is full, so a list never loads a whole collection to answer
one page. Numeric markers (page N) walk the pages before it without shaping them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from chalicelib.domain.paging import Marker

T = TypeVar("T")
Key = dict[str, Any]
_FILTERED_CHUNK = 250  # a filter may reject most of a chunk: read bigger ones to need fewer round trips


@dataclass(frozen=True)
class PagedSource(Generic[T]):
    fetch: Callable[[int, Key | None], tuple[list[T], Key | None]]  # one query page from a start key
    matches: Callable[[T], bool]
    key_after: Callable[[T], Key]  # the key to resume right after an item
    filtered: bool = False
    resume: Callable[[Key], Key] = lambda key: key  # checks a client's marker key before DynamoDB sees it


def collect(source: PagedSource[T], limit: int, marker: Marker | None) -> tuple[list[T], Key | None]:
    """The marker's page: up to `limit` matching items, and the key to resume after them (None: the last page)."""
    start, beyond_end = _start_key(source, limit, marker)
    if beyond_end:
        return [], None
    matched, more = _matching(source, limit, start)
    return matched, (source.key_after(matched[-1]) if more and matched else None)


def _matching(source: PagedSource[T], limit: int, start: Key | None) -> tuple[list[T], bool]:
    chunk = max(limit, _FILTERED_CHUNK) if source.filtered else limit
    matched: list[T] = []
    while True:
        items, last_key = source.fetch(chunk, start)
        for position, item in enumerate(items):
            if source.matches(item):
                matched.append(item)
                if len(matched) == limit:
                    return matched, position < len(items) - 1 or last_key is not None
        if last_key is None:
            return matched, False
        start = last_key


def _start_key(source: PagedSource[T], limit: int, marker: Marker | None) -> tuple[Key | None, bool]:
    if marker is None:
        return None, False
    if marker.resume_after is not None:
        return source.resume(marker.resume_after), False
    start: Key | None = None
    for _ in range((marker.page_number or 1) - 1):
        matched, more = _matching(source, limit, start)
        if not more or not matched:
            return None, True
        start = source.key_after(matched[-1])
    return start, False
