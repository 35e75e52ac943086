"""What a backend can do. A route whose backend lacks a capability answers 501 (docs/architecture.md §3)."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from chalicelib.domain.errors import CapabilityNotSupported


class Capability(StrEnum):
    INVENTORY = "inventory"  # read resource types, pools, resources, deployment managers
    POOL_MANAGEMENT = "pool-management"  # create, resize, delete resource pools
    DEPLOY = "deploy"
    SCALE = "scale"
    UPGRADE = "upgrade"
    ROLLBACK = "rollback"
    STATUS = "status"
    LOGS = "logs"


class Capable(Protocol):
    """Anything that names itself and declares what it can do: every backend."""

    adapter_id: str

    @property
    def capabilities(self) -> frozenset[Capability]: ...


def require(backend: Capable, capability: Capability) -> None:
    if capability not in backend.capabilities:
        raise CapabilityNotSupported(f"backend '{backend.adapter_id}' does not support {capability.value}")
