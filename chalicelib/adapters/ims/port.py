"""The port every infrastructure (O2-IMS) backend implements. Services depend on this, never on a backend module."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from chalicelib.adapters.registry import AdapterRegistry
from chalicelib.domain.capabilities import Capability
from chalicelib.domain.inventory import InventoryObject, ResourcePool
from chalicelib.domain.provisioning import BackendProgress, ProvisioningStart

__all__ = ["BackendProgress", "ProvisioningStart"]  # the progress types the backends answer with live in the domain

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


class PoolProvisioner(Protocol):
    """The asynchronous form of pool management that provisioning requests use: every call starts something and
    returns at once; `pool_progress` is asked, poll after poll, until the backend is done. Backends with
    `Capability.POOL_MANAGEMENT` implement it besides `PoolManager`."""

    def begin_pool(self, request: PoolRequest, context: InventoryContext, token: str) -> ProvisioningStart:
        """Start creating a pool; never waits for it. `token` (the request's provisioningRequestReference) makes a
        retry idempotent: called again with the same token after a crash or a timeout it starts nothing new and
        returns the same pool. Refusals raise the domain errors (BadRequest, Conflict, UnprocessableContent, ...);
        an unreachable backend raises BackendUnavailable."""
        ...

    def begin_resize(self, resource_pool_id: str, request: PoolRequest, context: InventoryContext
                     ) -> ProvisioningStart:
        """Start resizing a pool this gateway created; CapabilityNotSupported where the backend cannot (DTIAS)."""
        ...

    def pool_progress(self, resource_pool_id: str, job_id: str | None, deleting: bool) -> BackendProgress:
        """Where the backend is with this pool (and `job_id`, the job `begin_*` returned, if any). `deleting`: the
        caller asked for its deletion, so a pool or job that is gone / completed means `gone`."""
        ...

    def begin_pool_deletion(self, resource_pool_id: str) -> ProvisioningStart:
        """Start deleting a pool this gateway created; never waits. A pool already gone is not an error (the start
        then says so: `backend_state` "gone")."""
        ...


InventoryRegistry = AdapterRegistry[InventoryAdapter]
