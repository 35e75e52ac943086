"""What netweave keeps of a provisioning request besides what the SMO sees, and the rule that derives its status
(docs/provisioning.md, "Phases"). Pure.

A request owns one or more pools at one backend: an EKS request one node group (resized in place); a DTIAS request
one resource group per size step, because DTIAS cannot resize a resource group (a bigger size adds a group of the
difference). Each pool records what the reconciler still has to start (`begin`, `resize_to`, `deleting`) and what it
last saw of the backend, so a crash between the backend call and the record's update is retried with the same
idempotency token instead of starting twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.provisioning import (
    BackendProgress,
    ProvisionedResourceSet,
    ProvisioningPhase,
    ProvisioningRequestData,
    ProvisioningRequestInfo,
    ProvisioningStatus,
    ResourcePhase,
    ResourceProvisioningStatus,
)


class ProvisionedPool(BaseModel):
    """One pool a request made (or is to make) at its backend."""

    model_config = ConfigDict(extra="ignore")

    name: str  # the pool's name at the backend (EKS node group, DTIAS resource group)
    size: int  # the size this request wants it to have
    resource_pool_id: str | None = None  # the inventory's id, once the backend started it
    job_id: str | None = None
    backend_state: str = ""
    resize_to: int | None = None  # a resize the reconciler still has to start
    deleting: bool = False  # its deletion was started
    failure: str | None = None  # the backend refused to start it (the request is FAILED until PUT again)
    awaiting_resources: bool = False
    failed: bool = False  # the backend last reported it failed

    @property
    def started(self) -> bool:
        return self.resource_pool_id is not None


class ProvisioningRecord(BaseModel):
    """The stored form: the SMO's data, the template it resolved to, the pools and the last derived status."""

    model_config = ConfigDict(extra="ignore")

    data: dict[str, Any]  # ProvisioningRequestData, wire form
    reference: str  # provisioningRequestReference: netweave's, also the backends' idempotency token
    owner: str | None = None
    backend: str
    kind: str
    pool_fields: dict[str, Any]  # the PoolRequest the template's parameters resolved to (without name and size)
    pools: list[ProvisionedPool] = Field(default_factory=list)
    status: dict[str, Any]  # ProvisioningStatus, wire form
    resource_ids: list[str] = Field(default_factory=list)
    deleting: bool = False
    version: int = 0

    @property
    def request_id(self) -> str:
        return str(self.data["provisioningRequestId"])

    @property
    def phase(self) -> ProvisioningPhase:
        return ProvisioningPhase(self.status["provisioningPhase"])

    @property
    def desired_size(self) -> int:
        return sum(pool.size for pool in self.pools)

    def request_data(self) -> ProvisioningRequestData:
        return ProvisioningRequestData.model_validate(self.data)

    def info(self) -> ProvisioningRequestInfo:
        shown = {key: value for key, value in self.data.items() if key != "extensions"}
        pool_ids = [pool.resource_pool_id for pool in self.pools if pool.resource_pool_id]
        extensions = {**(self.data.get("extensions") or {}), "resourcePoolIds": pool_ids, "imsAdapter": self.backend}
        return ProvisioningRequestInfo.model_validate({
            **shown, "name": self.data.get("name") or "", "description": self.data.get("description") or "",
            "provisioningRequestReference": self.reference, "status": self.status,
            "provisionedResourceSet": ProvisionedResourceSet(infrastructure_resource_ids=self.resource_ids),
            "extensions": extensions})

    def to_wire(self) -> dict[str, Any]:
        return self.info().to_wire()


@dataclass(frozen=True)
class Member:
    """A resource of a request's pool as the inventory lists it."""

    resource_id: str
    name: str


def pending_work(record: ProvisioningRecord) -> bool:
    """Whether the reconciler has something to start at the backend."""
    if record.deleting:
        return any(not pool.deleting for pool in record.pools)
    return any(pool.failure is None and (not pool.started or pool.resize_to is not None) for pool in record.pools)


def assess(record: ProvisioningRecord, observed: dict[str, BackendProgress], members: dict[str, list[Member]],
           now: str) -> tuple[ProvisioningStatus, list[str]]:
    """The request's status from what each started pool's backend said (`observed`, by pool id) and which of its
    resources the inventory lists (`members`, by pool id); and the resource ids to show. FULFILLED needs both: the
    backend done, and every resource it made listed, so each id the request shows resolves in the inventory."""
    found = [member for pool in record.pools if pool.resource_pool_id
             for member in members.get(pool.resource_pool_id, [])]
    ids = [member.resource_id for member in found]
    phase, message = _phase(record, observed, len(found))
    statuses = [ResourceProvisioningStatus(resource_name=m.name, resource_id=m.resource_id,
                                           resource_provisioning_phase=_resource_phase(pool, observed, phase))
                for pool in record.pools if pool.resource_pool_id for m in members.get(pool.resource_pool_id, [])]
    statuses += [ResourceProvisioningStatus(resource_name=pool.name, resource_id=pool.resource_pool_id or pool.name,
                                            resource_provisioning_phase=ResourcePhase.AWAITING_FREE_RESOURCES)
                 for pool in record.pools if _awaiting(pool, observed)]
    return ProvisioningStatus(update_time=now, message=message, provisioning_phase=phase,
                              infrastructure_resource_provisioning_status=statuses), ids


def _awaiting(pool: ProvisionedPool, observed: dict[str, BackendProgress]) -> bool:
    seen = observed.get(pool.resource_pool_id or "")
    return pool.awaiting_resources or (seen is not None and seen.awaiting_resources)


def _resource_phase(pool: ProvisionedPool, observed: dict[str, BackendProgress],
                    phase: ProvisioningPhase) -> ResourcePhase:
    seen = observed.get(pool.resource_pool_id or "")
    if seen is not None and seen.state == "failed":
        return ResourcePhase.FAILED
    if phase is ProvisioningPhase.FULFILLED or (seen is not None and seen.state == "ready"):
        return ResourcePhase.PROVISIONED
    return ResourcePhase.PROCESSING


def _phase(record: ProvisioningRecord, observed: dict[str, BackendProgress],
           found: int) -> tuple[ProvisioningPhase, str]:
    if record.deleting:
        states = ", ".join(f"{p.name}: {observed[p.resource_pool_id].backend_state}" for p in record.pools
                           if p.resource_pool_id in observed) or "deletion requested"
        return ProvisioningPhase.DELETING, f"deleting ({states})"
    refused = [f"{pool.name}: {pool.failure}" for pool in record.pools if pool.failure]
    failed = [f"{pool.name}: {observed[pool.resource_pool_id].message or observed[pool.resource_pool_id].backend_state}"
              for pool in record.pools if pool.resource_pool_id in observed
              and observed[pool.resource_pool_id].state == "failed"]
    # a pool gone while the request still wants it was deleted outside the request (the pool extension, the console)
    failed += [f"{pool.name}: the pool no longer exists at the backend" for pool in record.pools
               if pool.resource_pool_id in observed and observed[pool.resource_pool_id].state == "gone"]
    if refused or failed:
        return ProvisioningPhase.FAILED, "; ".join(refused + failed) + " (PUT the request again to retry)"
    if any(not pool.started for pool in record.pools):
        return ProvisioningPhase.PENDING, str(record.status.get("message") or f"waiting for backend {record.backend}")
    return _started_phase(record, observed, found)


def _started_phase(record: ProvisioningRecord, observed: dict[str, BackendProgress],
                   found: int) -> tuple[ProvisioningPhase, str]:
    """Every pool started and none failed: PROGRESSING until the backend is done and the inventory lists them all."""
    waiting = [f"{pool.name}: {observed[pool.resource_pool_id].backend_state}" for pool in record.pools
               if pool.resource_pool_id in observed and observed[pool.resource_pool_id].state != "ready"]
    if waiting or any(pool.resize_to is not None for pool in record.pools):
        return ProvisioningPhase.PROGRESSING, f"backend {record.backend} working ({', '.join(waiting) or 'resize'})"
    if any(pool.resource_pool_id not in observed for pool in record.pools):
        return ProvisioningPhase.PROGRESSING, f"waiting for backend {record.backend} to report"
    if found < record.desired_size:
        return ProvisioningPhase.PROGRESSING, (f"backend {record.backend} done; {found} of {record.desired_size} "
                                               "resources in the inventory")
    return ProvisioningPhase.FULFILLED, f"{found} resources provisioned by backend {record.backend}"
