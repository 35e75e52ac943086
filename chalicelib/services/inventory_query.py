"""Reading the inventory for the API: one object, or one page of a collection with the O2 query language."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.adapters.store.inventory_store import (
    BY_PARENT_START_KEY_ATTRIBUTES,
    START_KEY_ATTRIBUTES,
    InventoryStore,
    StoredObject,
    start_key_after,
)
from chalicelib.domain.errors import InvalidQuery, NotFound
from chalicelib.domain.inventory import SELECTOR_SCHEMAS, ObjectType
from chalicelib.domain.paging import INVALID, Marker, MarkerCodec
from chalicelib.domain.query import Filter, validate_filter
from chalicelib.domain.selectors import Selection, apply_selection, validate_selection
from chalicelib.domain.server_identity import is_merged
from chalicelib.services.paging import Page, PagedSource, collect

_NAMES = {
    ObjectType.RESOURCE_TYPE: "resource type",
    ObjectType.RESOURCE_POOL: "resource pool",
    ObjectType.RESOURCE: "resource",
    ObjectType.DEPLOYMENT_MANAGER: "deployment manager",
    ObjectType.ALARM_DICTIONARY: "alarm dictionary",
    ObjectType.LOCATION: "location",
    ObjectType.O_CLOUD_SITE: "O-Cloud site",
}


@dataclass(frozen=True)
class ListRequest:
    object_type: ObjectType
    selection: Selection
    limit: int
    filter: Filter | None = None
    marker: Marker | None = None
    parent_key: str | None = None  # list a pool's resources
    codec: MarkerCodec = field(kw_only=True)  # the gateway's marker key (settings), from the view


def get_object(
    store: InventoryStore, object_type: ObjectType, object_id: str, selection: Selection, parent_key: str | None = None
) -> dict[str, Any]:
    schema = SELECTOR_SCHEMAS[object_type]
    validate_selection(selection, schema)
    stored = find(store, object_type, object_id, parent_key)
    return apply_selection(stored.document, selection, schema, owned=True)  # parsed for this request alone


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
    flt, by_parent = request.filter, request.parent_key is not None
    # Another backend's view of a listed server is read by id, never listed (docs/o2-conventions.md §10).
    servers = request.object_type is ObjectType.RESOURCE
    source: PagedSource[StoredObject] = PagedSource(
        fetch=lambda size, start: store.page(request.object_type.value, size, start, request.parent_key),
        matches=lambda item: (flt is None or flt.matches(item.document)) and not (servers and is_merged(item.document)),
        key_after=lambda item: start_key_after(item, by_parent),
        scope=f"inventory/{request.object_type.value}/{request.parent_key or ''}",
        key_attributes=BY_PARENT_START_KEY_ATTRIBUTES if by_parent else START_KEY_ATTRIBUTES,
        filtered=flt is not None,
        resume=lambda key: _resume_key(request, key),
    )
    matched, next_marker = collect(source, request.limit, request.marker, request.codec)
    # each document was parsed from the page's reply for this request alone: cut in place, not copied
    return Page([apply_selection(s.document, request.selection, schema, owned=True, checked=True) for s in matched],
                next_marker)


def _resume_key(request: ListRequest, key: dict[str, Any]) -> dict[str, Any]:
    """Beyond the signature: the key must lie in the partition (and pool) being listed, as every key it issues does."""
    if key["pk"]["S"] != request.object_type.value or key.get("parentKey", {}).get("S") != request.parent_key:
        raise InvalidQuery(INVALID)
    return key
