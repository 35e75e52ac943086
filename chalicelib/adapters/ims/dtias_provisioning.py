"""`PoolProvisioner` of the `dtias` backend: a pool is a DTIAS resource group, created and released by DTIAS jobs
that run on their own; provisioning requests start them and then follow them, one job read per progress check
(docs/dtias-backend.md "Provisioning requests").

A mixin of `DtiasInventoryAdapter` (dtias.py), which supplies the client and the group building it shares with the
synchronous `PoolManager` form.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.ims import dtias_mapping as mapping
from chalicelib.adapters.ims.dtias_client import COMPLETED, FAILED, RUNNING
from chalicelib.adapters.ims.port import BackendProgress, InventoryContext, PoolRequest, ProvisioningStart
from chalicelib.domain.errors import CapabilityNotSupported, NotFound

if TYPE_CHECKING:
    from chalicelib.adapters.ims.dtias_client import DtiasClient

GONE = "gone"
# DTIAS fails an allocation it cannot fill with "insufficient free resources in resource pool ..." (the simulator
# copies it); "not enough free servers/resources" is matched too, so a rewording keeps the status right.
_NO_CAPACITY = re.compile(r"insufficient\s+(free\s+)?(resources|servers|capacity)|not\s+enough\s+free", re.I)


def awaiting_resources(reason: str) -> bool:
    """Whether a failed job's reason says the resource pool lacks free servers (AWAITING_FREE_RESOURCES)."""
    return bool(_NO_CAPACITY.search(reason))


def group_progress(group: dict[str, Any], deleting: bool) -> BackendProgress:
    """A resource group read without a job: allocated once every selector holds its `numResources`."""
    wanted, allocated = mapping.group_counts(group)
    if deleting:
        return BackendProgress("progressing", "deleting", desired_nodes=wanted)
    if allocated >= wanted:
        return BackendProgress("ready", "ALLOCATED", desired_nodes=wanted)
    return BackendProgress("progressing", "ALLOCATING", desired_nodes=wanted)


class DtiasProvisioning:
    """The asynchronous pool management of a DTIAS tenant."""

    if TYPE_CHECKING:  # supplied by DtiasInventoryAdapter
        adapter_id: str

        @property
        def client(self) -> DtiasClient: ...
        _group_ids: dict[str, str]  # pool id -> resource group id, so a progress check reads one thing

        def _start_group(self, request: PoolRequest, context: InventoryContext, token: str | None
                         ) -> tuple[dict[str, Any], mapping.Site, str | None]: ...
        def _start_deletion(self, resource_pool_id: str) -> tuple[str, str | None]: ...

    def _remember(self, group_id: str) -> str:
        pool_id = mapping.group_pool_id(self.adapter_id, group_id)
        self._group_ids[pool_id] = group_id
        return pool_id

    def begin_pool(self, request: PoolRequest, context: InventoryContext, token: str) -> ProvisioningStart:
        group, _, job_id = self._start_group(request, context, token)
        pool_id = self._remember(str(group["id"]))
        if job_id is None:  # a retry: the group an earlier call posted
            return ProvisioningStart(pool_id, None, group_progress(group, False).backend_state)
        return ProvisioningStart(pool_id, job_id, "pending")  # reading the job now would be a poll of its own

    def begin_resize(self, resource_pool_id: str, request: PoolRequest, context: InventoryContext
                     ) -> ProvisioningStart:
        raise CapabilityNotSupported("DTIAS has no call to resize a resource group: a provisioning request grows "
                                     "by adding resource groups")

    def begin_pool_deletion(self, resource_pool_id: str) -> ProvisioningStart:
        try:
            group_id, job_id = self._start_deletion(resource_pool_id)
        except NotFound:
            return ProvisioningStart(resource_pool_id, None, GONE)  # released already: a retry, or someone else
        self._remember(group_id)
        return ProvisioningStart(resource_pool_id, job_id, "pending" if job_id else GONE)

    def pool_progress(self, resource_pool_id: str, job_id: str | None, deleting: bool) -> BackendProgress:
        if job_id is not None:
            try:
                brief = self.client.get(f"read job {job_id}", f"/jobs/{job_id}").get("brief") or {}
            except NotFound:
                brief = None  # DTIAS forgot the job: the group tells where things are
            if brief is not None:
                return self._job_progress(resource_pool_id, brief, deleting)
        return self._read_group(resource_pool_id, deleting)

    def _job_progress(self, resource_pool_id: str, brief: dict[str, Any], deleting: bool) -> BackendProgress:
        status = str(brief.get("Status") or "").lower()
        if status in RUNNING:
            return BackendProgress("progressing", status)
        if status == FAILED:
            reason = str(brief.get("FailReason") or "") or "the DTIAS job failed without a reason"
            return BackendProgress("failed", status, reason, awaiting_resources=awaiting_resources(reason))
        if status == COMPLETED and deleting:
            return BackendProgress("gone", status)
        if status == COMPLETED:
            # The job is done; the group says how many servers the pool holds (read once, at the end).
            done = self._read_group(resource_pool_id, deleting)
            return BackendProgress(done.state, status, done.message, done.desired_nodes)
        return BackendProgress("failed", status, f"DTIAS job in an unknown state '{status}'")

    def _read_group(self, resource_pool_id: str, deleting: bool) -> BackendProgress:
        group_id = self._group_id(resource_pool_id)
        if group_id is None:
            return BackendProgress("gone", GONE)
        try:
            group = self.client.get(f"read resource group {group_id}", f"/resourcegroups/{group_id}")
        except NotFound:
            return BackendProgress("gone", GONE)
        return group_progress(group, deleting)

    def _group_id(self, resource_pool_id: str) -> str | None:
        """The group of a pool: known where this adapter started it, else found among the tenant's groups."""
        if resource_pool_id not in self._group_ids:
            for group in self.client.resource_groups():
                self._remember(str(group.get("id")))
        return self._group_ids.get(resource_pool_id)
