"""Creating, resizing and deleting resource pools (docs/o2-conventions.md §7): a netweave extension served only on
the seed's short form `/o2ims/v1/resourcePools`, by backends with `Capability.POOL_MANAGEMENT` (others: 501).

The snapshot stays the poller's: a change made here shows in the collections after the backend's next poll, which
`trigger_poll` asks for at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from chalicelib.adapters.ims.port import InventoryContext, InventoryRegistry, PoolManager, PoolRequest
from chalicelib.adapters.store.inventory_store import InventoryStore
from chalicelib.domain.capabilities import Capability, require
from chalicelib.domain.inventory import ObjectType
from chalicelib.services.inventory_query import find

PollTrigger = Callable[[str], None]


def create_pool(registry: InventoryRegistry, context: InventoryContext, request: PoolRequest, backend_id: str | None,
                trigger_poll: PollTrigger) -> dict[str, Any]:
    adapter = registry.get(backend_id)
    require(adapter, Capability.POOL_MANAGEMENT)
    pool = cast(PoolManager, adapter).create_resource_pool(request, context)
    trigger_poll(adapter.adapter_id)
    return pool.to_wire()


def resize_pool(registry: InventoryRegistry, store: InventoryStore, context: InventoryContext, pool_id: str,
                changes: dict[str, Any], trigger_poll: PollTrigger) -> dict[str, Any]:
    stored = find(store, ObjectType.RESOURCE_POOL, pool_id)
    adapter = registry.get(stored.backend)
    require(adapter, Capability.POOL_MANAGEMENT)
    request = PoolRequest(
        name=str(changes.get("name") or stored.document["name"]),
        location=changes.get("location"),
        replicas=changes.get("extensions", {}).get("replicas"),
        extensions=changes.get("extensions", {}),
    )
    pool = cast(PoolManager, adapter).update_resource_pool(pool_id, request, context)
    trigger_poll(adapter.adapter_id)
    return pool.to_wire()


def delete_pool(registry: InventoryRegistry, store: InventoryStore, pool_id: str, trigger_poll: PollTrigger) -> None:
    stored = find(store, ObjectType.RESOURCE_POOL, pool_id)
    adapter = registry.get(stored.backend)
    require(adapter, Capability.POOL_MANAGEMENT)
    cast(PoolManager, adapter).delete_resource_pool(pool_id)
    trigger_poll(adapter.adapter_id)
