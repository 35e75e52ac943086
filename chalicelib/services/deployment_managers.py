"""Inventory reads that need more than the snapshot: a deployment manager's access profile (docs/o2-conventions.md
§5), and the alarm dictionary of a resource type."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.ims.port import InventoryRegistry
from chalicelib.adapters.store.inventory_store import InventoryStore
from chalicelib.domain.errors import BadRequest, NotFound
from chalicelib.domain.inventory import SELECTOR_SCHEMAS, ObjectType
from chalicelib.domain.selectors import Selection, apply_selection, validate_selection
from chalicelib.services.inventory_query import find

PROFILES = {"native_k8sapi": "native_k8sapi", "k8s": "native_k8sapi"}
_PROFILE_DATA = ("extensions", "profileData")


def describe(
    store: InventoryStore,
    registry: InventoryRegistry,
    deployment_manager_id: str,
    selection: Selection,
    profile: str | None,
) -> dict[str, Any]:
    """A deployment manager; with `profile`, its cluster access data too (the caller has checked the scope).

    Credentials are never stored in the snapshot: they are read from the backend on each request, so they can
    reach neither DynamoDB nor a notification."""
    schema = SELECTOR_SCHEMAS[ObjectType.DEPLOYMENT_MANAGER]
    validate_selection(selection, schema)
    stored = find(store, ObjectType.DEPLOYMENT_MANAGER, deployment_manager_id)
    document = stored.document
    if profile is not None:
        document = _with_profile(registry, stored.backend, deployment_manager_id, document, profile)
        selection = Selection(
            selection.all_fields,
            selection.exclude_default,
            (*selection.fields, _PROFILE_DATA),
            selection.exclude_fields,
        )
    return apply_selection(document, selection, schema)


def _with_profile(
    registry: InventoryRegistry, backend: str, deployment_manager_id: str, document: dict[str, Any], profile: str
) -> dict[str, Any]:
    if profile not in PROFILES:
        raise BadRequest(f"profile: unknown profile '{profile}'; known: {', '.join(sorted(PROFILES))}")
    adapter = registry.get(backend)
    data = adapter.cluster_profile(deployment_manager_id)
    if not data:
        raise NotFound(f"deployment manager '{deployment_manager_id}' offers no {PROFILES[profile]} profile")
    extensions = {**document.get("extensions", {}), **data}
    service_uri = data.get("profileData", {}).get("cluster_api_endpoint", document.get("serviceUri"))
    return {**document, "serviceUri": service_uri, "extensions": extensions}


def alarm_dictionary_of_type(store: InventoryStore, resource_type_id: str, selection: Selection) -> dict[str, Any]:
    schema = SELECTOR_SCHEMAS[ObjectType.ALARM_DICTIONARY]
    validate_selection(selection, schema)
    resource_type = find(store, ObjectType.RESOURCE_TYPE, resource_type_id)
    dictionary_id = resource_type.document.get("alarmDictionaryId")
    if not dictionary_id:
        raise NotFound(f"resource type '{resource_type_id}' has no alarm dictionary")
    return apply_selection(find(store, ObjectType.ALARM_DICTIONARY, dictionary_id).document, selection, schema)
