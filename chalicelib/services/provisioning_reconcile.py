"""The provisioning reconciler: run by the inventory poll for each backend with open requests (docs/provisioning.md,
"How a request progresses"). For each request it starts what the backend still has to do (create, resize, delete;
each call returns at once), asks the backend where it is, reads which of the request's resources the inventory
lists, and derives the request's status (domain/provisioning_record.py `assess`).

A backend that cannot be reached leaves the request as it is, to be tried again by the next poll; a backend that
refuses makes it FAILED with the backend's reason. When the backend moved (started something, changed state), the
reconciler asks for another poll of that backend at once, so the inventory, and with it the request, catches up
without waiting for the schedule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from chalicelib.adapters.ims.port import PoolProvisioner
from chalicelib.adapters.store.inventory_store import InventoryStore
from chalicelib.domain.errors import BackendUnavailable, NetweaveError
from chalicelib.domain.inventory import ObjectType
from chalicelib.domain.provisioning import OPEN_PHASES, BackendProgress
from chalicelib.domain.provisioning_record import Member, ProvisionedPool, ProvisioningRecord, assess, pending_work
from chalicelib.observability import logger
from chalicelib.services.provisioning import ProvisioningPorts, pool_request


@dataclass
class ReconcileReport:
    backend: str
    checked: int = 0
    changed: int = 0
    finished: int = 0  # fulfilled, failed or deleted this round
    moved: bool = False  # the backend started or changed something: its inventory is worth polling again
    errors: list[str] = field(default_factory=list)


def reconcile_backend(ports: ProvisioningPorts, backend: str, request_ids: list[str]) -> ReconcileReport:
    report = ReconcileReport(backend)
    if backend not in ports.registry.ids:  # a backend removed from the configuration: nothing can progress
        return report
    provisioner = cast(PoolProvisioner, ports.registry.get(backend))
    for request_id in request_ids:
        record = ports.store.get(request_id)
        if record is None or record.backend != backend:
            ports.store.mark_closed(backend, request_id)
            continue
        report.checked += 1
        try:
            reconcile_request(ports, provisioner, record, report)
        except BackendUnavailable as error:  # the whole backend: the next poll tries again
            report.errors.append(f"{request_id}: {error.detail}")
    if report.moved:
        ports.trigger_poll(backend)
    return report


def reconcile_request(ports: ProvisioningPorts, provisioner: PoolProvisioner, record: ProvisioningRecord,
                      report: ReconcileReport) -> None:
    before = record
    record = _start_work(ports, provisioner, record, report)
    observed = _observe(provisioner, record)
    record = record.model_copy(update={"pools": [_seen(pool, observed) for pool in record.pools]})
    report.moved |= [p.backend_state for p in record.pools] != [p.backend_state for p in before.pools]
    if record.deleting and _all_gone(ports.inventory, record, observed, report):
        if ports.store.remove(record.model_copy(update={"version": before.version})):
            report.finished += 1
            logger.info("provisioning request deleted", extra={"provisioningRequestId": record.request_id})
        return
    status, resource_ids = assess(record, observed, _members(ports.inventory, record), ports.clock())
    shown = status.to_wire()
    if _same_status(shown, record.status) and resource_ids == record.resource_ids and record.pools == before.pools:
        _close_if_done(ports, record)
        return
    if _same_status(shown, record.status):
        shown["updateTime"] = record.status.get("updateTime", shown["updateTime"])
    saved = ports.store.save(record.model_copy(update={"status": shown, "resource_ids": resource_ids,
                                                       "version": before.version}))
    if saved is None:  # the API or another poll changed it: the next poll decides again from what is stored
        return
    report.changed += 1
    logger.info("provisioning request", extra={"provisioningRequestId": saved.request_id,
                                               "phase": shown["provisioningPhase"], "detail": shown["message"]})
    if _close_if_done(ports, saved):
        report.finished += 1


def _all_gone(inventory: InventoryStore, record: ProvisioningRecord, observed: dict[str, BackendProgress],
              report: ReconcileReport) -> bool:
    """Gone at the backend and from the inventory: once the request answers 404, no pool of it is listed either.
    Gone at the backend only: the inventory catches up at the poll this asks for."""
    started = [p.resource_pool_id for p in record.pools if p.resource_pool_id]
    if not all(pool_id in observed and observed[pool_id].state == "gone" for pool_id in started):
        return False
    listed = [pool_id for pool_id in started if inventory.get(ObjectType.RESOURCE_POOL.value, pool_id) is not None]
    report.moved |= bool(listed)
    return not listed


def _same_status(new: dict[str, object], old: dict[str, object]) -> bool:
    return {k: v for k, v in new.items() if k != "updateTime"} == {k: v for k, v in old.items() if k != "updateTime"}


def _close_if_done(ports: ProvisioningPorts, record: ProvisioningRecord) -> bool:
    if record.phase in OPEN_PHASES or pending_work(record):
        return False
    ports.store.mark_closed(record.backend, record.request_id)
    # The API may have reopened it (DELETE, PUT) between this poll's write and the close: its mark_open then came
    # first and the close undid it. Read it again; open it again if so (a later reopen comes after this read).
    again = ports.store.get(record.request_id)
    if again is not None and (again.phase in OPEN_PHASES or pending_work(again)):
        ports.store.mark_open(record.backend, record.request_id)
        return False
    return True


def _start_work(ports: ProvisioningPorts, provisioner: PoolProvisioner, record: ProvisioningRecord,
                report: ReconcileReport) -> ProvisioningRecord:
    pools: list[ProvisionedPool] = []
    for index, pool in enumerate(record.pools):
        try:
            started = _start(ports, provisioner, record, index, pool)
        except BackendUnavailable:
            raise
        except NetweaveError as refusal:  # the backend refused: FAILED with its reason until the SMO PUTs again
            started = pool.model_copy(update={"failure": refusal.detail})
        if started is None:  # a pool never started needs no deletion
            continue
        report.moved |= started != pool
        pools.append(started)
    return record.model_copy(update={"pools": pools})


def _start(ports: ProvisioningPorts, provisioner: PoolProvisioner, record: ProvisioningRecord, index: int,
           pool: ProvisionedPool) -> ProvisionedPool | None:
    if record.deleting:
        return _start_deletion(provisioner, pool)
    if pool.failure is not None:
        return pool
    if not pool.started:
        # The reference is the backend's idempotency token: a retry after a crash returns the same pool.
        token = record.reference if index == 0 else f"{record.reference}-{index}"
        begun = provisioner.begin_pool(pool_request(record, pool), ports.context, token)
        return pool.model_copy(update={"resource_pool_id": begun.resource_pool_id, "job_id": begun.job_id,
                                       "backend_state": begun.backend_state})
    if pool.resize_to is not None:
        resized = provisioner.begin_resize(pool.resource_pool_id or "", pool_request(record, pool, pool.resize_to),
                                           ports.context)
        return pool.model_copy(update={"resize_to": None, "job_id": resized.job_id or pool.job_id,
                                       "backend_state": resized.backend_state or pool.backend_state})
    return pool


def _start_deletion(provisioner: PoolProvisioner, pool: ProvisionedPool) -> ProvisionedPool | None:
    if not pool.started:  # nothing was made at the backend: nothing to delete
        return None
    if pool.deleting:
        return pool
    gone = provisioner.begin_pool_deletion(pool.resource_pool_id or "")
    return pool.model_copy(update={"deleting": True, "job_id": gone.job_id, "backend_state": gone.backend_state})


def _observe(provisioner: PoolProvisioner, record: ProvisioningRecord) -> dict[str, BackendProgress]:
    observed: dict[str, BackendProgress] = {}
    for pool in record.pools:
        if pool.resource_pool_id is None or pool.failure is not None:
            continue
        observed[pool.resource_pool_id] = provisioner.pool_progress(pool.resource_pool_id, pool.job_id,
                                                                    record.deleting or pool.deleting)
    return observed


def _seen(pool: ProvisionedPool, observed: dict[str, BackendProgress]) -> ProvisionedPool:
    progress = observed.get(pool.resource_pool_id or "")
    if progress is None:
        return pool
    return pool.model_copy(update={"backend_state": progress.backend_state, "failed": progress.state == "failed",
                                   "awaiting_resources": progress.awaiting_resources})


def _members(inventory: InventoryStore, record: ProvisioningRecord) -> dict[str, list[Member]]:
    """Each started pool's resources as the inventory lists them (the byParent index: one query per pool)."""
    members: dict[str, list[Member]] = {}
    for pool in record.pools:
        if pool.resource_pool_id is None or record.deleting:
            continue
        found: list[Member] = []
        start = None
        while True:
            items, start = inventory.page(ObjectType.RESOURCE.value, 500, start, pool.resource_pool_id)
            # a pool's resources, not their components (which name their resource as parentId)
            found += [Member(item.object_id, str(item.document.get("name") or item.object_id)) for item in items
                      if item.object_type == ObjectType.RESOURCE.value and "parentId" not in item.document]
            if start is None:
                break
        members[pool.resource_pool_id] = found
    return members
