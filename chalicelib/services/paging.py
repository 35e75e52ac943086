"""One page of a DynamoDB-backed collection under the O2 query language, shared by every collection service.

Pages come from DynamoDB in key order. Without a filter a page costs one query of `limit` items; with a filter,
queries continue in larger chunks only until the page is full, so a list never loads a whole collection to answer
one page. Numeric markers (page N) walk the pages before it without shaping them. Markers are signed for the list
that issued them (`scope`) and checked against the attributes of its DynamoDB key before DynamoDB sees them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from chalicelib.domain.paging import Marker, MarkerCodec
from chalicelib.domain.query import Filter, validate_filter
from chalicelib.domain.selectors import Selection, SelectorSchema, apply_selection, validate_selection

T = TypeVar("T")


class Shown(Protocol):
    """What a collection lists: anything with a wire form (a WireModel, or a record that shows one)."""

    def to_wire(self) -> dict[str, Any]: ...


M = TypeVar("M", bound=Shown)
Key = dict[str, Any]
_FILTERED_CHUNK = 250  # a filter may reject most of a chunk: read bigger ones to need fewer round trips


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_marker: str | None


@dataclass(frozen=True)
class ListRequest:
    selection: Selection
    limit: int
    filter: Filter | None = None
    marker: Marker | None = None
    codec: MarkerCodec = field(kw_only=True)  # the gateway's marker key (settings), from the view


@dataclass(frozen=True)
class PagedSource(Generic[T]):
    fetch: Callable[[int, Key | None], tuple[list[T], Key | None]]  # one query page from a start key
    matches: Callable[[T], bool]
    key_after: Callable[[T], Key]  # the key to resume right after an item
    scope: str  # names the list in its markers: a marker of one list is refused by every other
    key_attributes: frozenset[str]  # exactly the attributes of `key_after`'s keys
    filtered: bool = False
    resume: Callable[[Key], Key] = lambda key: key  # further checks of a marker's key before DynamoDB sees it


def collect(
    source: PagedSource[T], limit: int, marker: Marker | None, codec: MarkerCodec
) -> tuple[list[T], str | None]:
    """The marker's page: up to `limit` matching items, and the marker of the page after them (None: the last)."""
    start, beyond_end = _start_key(source, limit, marker, codec)
    if beyond_end:
        return [], None
    matched, more = _matching(source, limit, start)
    return matched, (codec.encode(source.scope, source.key_after(matched[-1])) if more and matched else None)


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


def _start_key(
    source: PagedSource[T], limit: int, marker: Marker | None, codec: MarkerCodec
) -> tuple[Key | None, bool]:
    if marker is None:
        return None, False
    if marker.token is not None:
        return source.resume(codec.decode(source.scope, marker.token, source.key_attributes)), False
    start: Key | None = None
    for _ in range((marker.page_number or 1) - 1):
        matched, more = _matching(source, limit, start)
        if not more or not matched:
            return None, True
        start = source.key_after(matched[-1])
    return start, False


def list_models(request: ListRequest, schema: SelectorSchema, fetch: Callable[[int, Key | None], tuple[list[M],
                Key | None]], key_after: Callable[[M], Key], *, scope: str, key_attributes: frozenset[str],
                resume: Callable[[Key], Key] | None = None, visible: Callable[[M], bool] | None = None,
                wire: Callable[[M], dict[str, Any]] | None = None) -> Page:
    """One page of a collection of wire models: selectors and filter checked against the schema, the filter applied
    to each model's wire form (`wire`, default `to_wire()`), the selection to each item shown. Models `visible`
    rejects (another tenant's) are dropped as they are read, before the page is cut, so pages stay full."""
    validate_selection(request.selection, schema)
    if request.filter is not None:
        validate_filter(request.filter, schema)
    flt = request.filter
    shown: Callable[[M], dict[str, Any]] = wire or (lambda model: model.to_wire())

    def fetch_visible(limit: int, start: Key | None) -> tuple[list[M], Key | None]:
        models, last_key = fetch(limit, start)
        return ([m for m in models if visible(m)] if visible is not None else models), last_key

    source: PagedSource[M] = PagedSource(
        fetch=fetch_visible, matches=lambda model: flt is None or flt.matches(shown(model)), key_after=key_after,
        scope=scope, key_attributes=key_attributes, filtered=flt is not None or visible is not None,
        resume=resume or (lambda key: key))
    matched, next_marker = collect(source, request.limit, request.marker, request.codec)
    return Page([apply_selection(shown(m), request.selection, schema, checked=True) for m in matched], next_marker)
