"""The port every infrastructure (O2-IMS) backend implements. Services depend on this, never on a backend module."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from chalicelib.adapters.registry import AdapterRegistry
from chalicelib.domain.capabilities import Capability
from chalicelib.domain.inventory import InventoryObject, ResourcePool

DEFAULT_POOL_LABELS: tuple[str, ...] = (
    "netweave.io/resource-pool",
    "eks.amazonaws.com/nodegroup",
    "cloud.google.com/gke-nodepool",
    "agentpool",
)


@dataclass(frozen=True)
class InventoryContext:
    """What a backend needs from the gateway to describe its objects."""

    o_cloud_id: str
    pool_label_keys: tuple[str, ...] = DEFAULT_POOL_LABELS


@dataclass(frozen=True)
class PoolRequest:
    """Create or resize a resource pool (a netweave extension, docs/o2-conventions.md §7)."""

    name: str
    location: str | None = None
    instance_type: str | None = None
    replicas: int | None = None
    extensions: dict[str, Any] = field(default_factory=dict)


class InventoryAdapter(Protocol):
    adapter_id: str

    @property
    def capabilities(self) -> frozenset[Capability]: ...

    def read_inventory(self, context: InventoryContext) -> list[InventoryObject]:
        """The backend's whole current inventory: resource types, pools, resources (with child resources both
        nested in `elements` and listed on their own with `parentId`), deployment managers, alarm dictionaries.
        Raises `BackendUnavailable` when the backend cannot be reached."""
        ...

    def cluster_profile(self, deployment_manager_id: str) -> dict[str, Any] | None:
        """The O2dms Kubernetes-native profile data of a deployment manager (docs/o2-conventions.md §5), or None."""
        ...


class PoolManager(Protocol):
    """Backends with `Capability.POOL_MANAGEMENT` also implement this."""

    def create_resource_pool(self, request: PoolRequest, context: InventoryContext) -> ResourcePool: ...

    def update_resource_pool(
        self, resource_pool_id: str, request: PoolRequest, context: InventoryContext
    ) -> ResourcePool: ...

    def delete_resource_pool(self, resource_pool_id: str) -> None: ...


InventoryRegistry = AdapterRegistry[InventoryAdapter]
