"""Reading the inventory for the API: one object, or one page of a collection with the O2 query language.

Pages come straight from DynamoDB in id order. Without a filter a page costs one query of `limit` items; with a
filter, queries continue (in chunks of the page size) only until the page is full, so a list never loads the whole
collection to answer one page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.adapters.store.inventory_store import InventoryStore, StoredObject, start_key_after
from chalicelib.domain.errors import NotFound
from chalicelib.domain.inventory import SELECTOR_SCHEMAS, ObjectType
from chalicelib.domain.paging import Marker, encode_marker
from chalicelib.domain.query import Filter, validate_filter
from chalicelib.domain.selectors import Selection, apply_selection, validate_selection

_NAMES = {
    ObjectType.RESOURCE_TYPE: "resource type",
    ObjectType.RESOURCE_POOL: "resource pool",
    ObjectType.RESOURCE: "resource",
    ObjectType.DEPLOYMENT_MANAGER: "deployment manager",
    ObjectType.ALARM_DICTIONARY: "alarm dictionary",
}


@dataclass(frozen=True)
class ListRequest:
    object_type: ObjectType
    selection: Selection
    limit: int
    filter: Filter | None = None
    marker: Marker | None = None
    parent_key: str | None = None  # list a pool's resources


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_marker: str | None


def get_object(
    store: InventoryStore, object_type: ObjectType, object_id: str, selection: Selection, parent_key: str | None = None
) -> dict[str, Any]:
    schema = SELECTOR_SCHEMAS[object_type]
    validate_selection(selection, schema)
    stored = find(store, object_type, object_id, parent_key)
    return apply_selection(stored.document, selection, schema)


def find(store: InventoryStore, object_type: ObjectType, object_id: str, parent_key: str | None = None) -> StoredObject:
    stored = store.get(object_type.value, object_id)
    if stored is None or (parent_key is not None and stored.parent_key != parent_key):
        where = f" in resource pool {parent_key}" if parent_key else ""
        raise NotFound(f"no {_NAMES[object_type]} with id '{object_id}'{where}")
    return stored


def list_objects(store: InventoryStore, request: ListRequest) -> Page:
    schema = SELECTOR_SCHEMAS[request.object_type]
    validate_selection(request.selection, schema)
    if request.filter is not None:
        validate_filter(request.filter, schema)
    start, beyond_end = _start_key(store, request)
    if beyond_end:
        return Page([], None)
    matched, more = _matching(store, request, start)
    next_marker = encode_marker(start_key_after(matched[-1], request.parent_key is not None)) if more else None
    return Page([apply_selection(s.document, request.selection, schema) for s in matched], next_marker)


def _matching(
    store: InventoryStore, request: ListRequest, start: dict[str, Any] | None
) -> tuple[list[StoredObject], bool]:
    """Up to `limit` matching objects from `start` on, and whether more may follow."""
    # A filter may reject most of a chunk: read bigger chunks then, to need fewer round trips.
    chunk = request.limit if request.filter is None else max(request.limit, 250)
    matched: list[StoredObject] = []
    while True:
        items, last_key = store.page(request.object_type.value, chunk, start, request.parent_key)
        for position, item in enumerate(items):
            if request.filter is None or request.filter.matches(item.document):
                matched.append(item)
                if len(matched) == request.limit:
                    return matched, position < len(items) - 1 or last_key is not None
        if last_key is None:
            return matched, False
        start = last_key


def _start_key(store: InventoryStore, request: ListRequest) -> tuple[dict[str, Any] | None, bool]:
    """Where the requested page starts, and whether it lies beyond the end of the collection."""
    marker = request.marker
    if marker is None:
        return None, False
    if marker.resume_after is not None:
        return marker.resume_after, False
    start: dict[str, Any] | None = None
    for _ in range((marker.page_number or 1) - 1):  # numeric markers: walk to the page, without shaping it
        matched, more = _matching(store, request, start)
        if not more:
            return None, True
        start = start_key_after(matched[-1], request.parent_key is not None)
    return start, False
