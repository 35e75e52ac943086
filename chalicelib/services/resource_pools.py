"""Creating, resizing and deleting resource pools (docs/o2-conventions.md §7): a netweave extension served only on
the seed's short form `/o2ims/v1/resourcePools`, by backends with `Capability.POOL_MANAGEMENT` (others: 501).

The snapshot stays the poller's: a change made here shows in the collections after the backend's next poll, which
`trigger_poll` asks for at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from chalicelib.adapters.ims.port import InventoryContext, InventoryRegistry, PoolManager, PoolRequest
from chalicelib.adapters.store.inventory_store import InventoryStore
from chalicelib.domain.capabilities import Capability, require
from chalicelib.domain.errors import BadRequest, UnprocessableContent
from chalicelib.domain.inventory import ObjectType
from chalicelib.services.inventory_query import find

PollTrigger = Callable[[str], None]
_SIZES = ("replicas", "minSize", "maxSize")


class PoolLimitExceeded(UnprocessableContent):
    """A well-formed pool request this gateway's limits do not allow (docs/security.md, "Limits and disclosure")."""

    slug = "pool-limit-exceeded"


@dataclass(frozen=True)
class PoolLimits:
    max_replicas: int = 50
    instance_types: frozenset[str] = frozenset()  # empty: any instance type the backend knows


def check_limits(request: PoolRequest, limits: PoolLimits, creating: bool) -> None:
    """Refuse sizes above `max_replicas` and, when an allow-list is configured, any other instance type (on
    creation the type must then be named: the backend's default is not checked against the list)."""
    sizes = {key: request.extensions.get(key) for key in _SIZES}
    if request.replicas is not None:
        sizes["replicas"] = request.replicas
    for key, value in sizes.items():
        if isinstance(value, int) and not isinstance(value, bool) and value > limits.max_replicas:
            raise PoolLimitExceeded(f"extensions.{key}: {value} exceeds this gateway's limit of "
                                    f"{limits.max_replicas} nodes per pool")
    if not limits.instance_types:
        return
    instance_type = request.instance_type or request.extensions.get("instanceType")
    allowed = ", ".join(sorted(limits.instance_types))
    if instance_type is None and creating:
        raise PoolLimitExceeded(f"extensions.instanceType is required: this gateway allows only {allowed}")
    if instance_type is not None and (not isinstance(instance_type, str) or instance_type not in limits.instance_types):
        raise PoolLimitExceeded(f"extensions.instanceType: '{str(instance_type)[:64]}' is not allowed on this "
                                f"gateway; allowed: {allowed}")


def choose_backend(registry: InventoryRegistry, request: PoolRequest, backend_id: str | None) -> str | None:
    """IMS routing (docs/architecture.md §3): a backend named by the request (`backend`, or `extensions.imsAdapter`)
    wins; else the first matching `routing.ims` rule; else None, the default backend."""
    named = backend_id or request.extensions.get("imsAdapter")
    if named is not None and not isinstance(named, str):
        raise BadRequest("extensions.imsAdapter must be a string")
    return named or registry.route_pool(request.location, request.extensions)


def create_pool(registry: InventoryRegistry, context: InventoryContext, request: PoolRequest, backend_id: str | None,
                trigger_poll: PollTrigger, limits: PoolLimits | None = None) -> dict[str, Any]:
    check_limits(request, limits or PoolLimits(), creating=True)
    adapter = registry.get(choose_backend(registry, request, backend_id))
    require(adapter, Capability.POOL_MANAGEMENT)
    pool = cast(PoolManager, adapter).create_resource_pool(request, context)
    trigger_poll(adapter.adapter_id)
    return pool.to_wire()


def resize_pool(registry: InventoryRegistry, store: InventoryStore, context: InventoryContext, pool_id: str,
                changes: dict[str, Any], trigger_poll: PollTrigger,
                limits: PoolLimits | None = None) -> dict[str, Any]:
    stored = find(store, ObjectType.RESOURCE_POOL, pool_id)
    adapter = registry.get(stored.backend)
    require(adapter, Capability.POOL_MANAGEMENT)
    request = PoolRequest(
        name=str(changes.get("name") or stored.document["name"]),
        location=changes.get("location"),
        replicas=changes.get("extensions", {}).get("replicas"),
        extensions=changes.get("extensions", {}),
    )
    check_limits(request, limits or PoolLimits(), creating=False)
    pool = cast(PoolManager, adapter).update_resource_pool(pool_id, request, context)
    trigger_poll(adapter.adapter_id)
    return pool.to_wire()


def delete_pool(registry: InventoryRegistry, store: InventoryStore, pool_id: str, trigger_poll: PollTrigger) -> None:
    stored = find(store, ObjectType.RESOURCE_POOL, pool_id)
    adapter = registry.get(stored.backend)
    require(adapter, Capability.POOL_MANAGEMENT)
    cast(PoolManager, adapter).delete_resource_pool(pool_id)
    trigger_poll(adapter.adapter_id)
