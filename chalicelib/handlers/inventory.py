"""`poll_inventory` (schedule) and `poll_inventory_on_change` (EventBridge): read every backend, store the changes,
evaluate alarms, keep the platform alarm dictionary and the SMO registration current.

Every run starts with one read of what an unchanged poll needs to know (adapters/store/poll_state.py): the manifests,
the alarm evaluation stamps, when the next purge is due and the asset index's generation. An unchanged O-Cloud then
costs that read alone, in a container that has read the asset index before (docs/performance.md, "Inventory poll
handler")."""

from __future__ import annotations

import time
from typing import Any

from chalicelib.adapters.store.inventory_store import InventoryStore
from chalicelib.adapters.store.poll_state import PollState
from chalicelib.bootstrap import Components, components
from chalicelib.observability import INVENTORY_POLL, logger, record_poll
from chalicelib.services.alarm_evaluation import AlarmObserver, PlatformAlarmCatalog, purge_expired
from chalicelib.services.inventory_poll import PollReport, poll_backends
from chalicelib.services.registration import announce_if_changed, registration_payload, registration_state_key
from chalicelib.services.sites import SITES_INPUTS, SiteCatalog, refresh_sites, sites_inputs


def scheduled_poll(parts: Components | None = None) -> list[dict[str, Any]]:
    """The schedule's work: poll every backend (evaluating alarms), purge alarms past retention if that is due, then
    (re)announce the O-Cloud to the SMO if configured."""
    parts = parts or components()
    state = read_state(parts)
    reports = poll_inventory(parts, state=state)
    store_platform_catalog(parts, state.inventory)
    purged = purge_expired(parts.alarm_ports(), state.purge_due)
    if purged:
        logger.info("alarms purged", extra={"purged": purged})
    announce_registration(parts, state.inventory)
    return reports


def read_state(parts: Components) -> PollState:
    backends = parts.ims_registry.ids
    manifests = [*backends, PlatformAlarmCatalog.adapter_id, SITES_INPUTS]
    if parts.settings.delivery.registration_url:
        manifests.append(registration_state_key(parts.settings.delivery.registration_url))
    return parts.poll_state(manifests, backends)


def store_platform_catalog(parts: Components, store: InventoryStore | None = None) -> None:
    """The platform alarm dictionary, stored like a backend's objects (unchanged: its manifest, no writes)."""
    poll_backends([PlatformAlarmCatalog()], parts.inventory_context, store or parts.inventory_store,
                  parts.events_publisher)


def store_sites(parts: Components, state: PollState, reports: list[PollReport]) -> None:
    """Sites and locations follow the pools just stored: derived after the backends' poll, diffed and notified;
    skipped when every backend's stored inventory and the configuration are what the stored sites came from."""
    gateway = parts.settings.gateway
    catalog = SiteCatalog(state.inventory, gateway.locations, gateway.sites)
    settled = all(r.status != "failed" for r in reports)  # a failed poll may have stored part of its changes
    hashes = {backend: state.inventory.known_hash(backend) for backend in parts.ims_registry.ids}
    inputs = sites_inputs(parts.o_cloud_id, hashes, catalog) if settled else None
    refresh_sites(catalog, parts.inventory_context, state.inventory, parts.events_publisher, inputs)


def announce_registration(parts: Components | None = None, store: InventoryStore | None = None) -> bool:
    parts = parts or components()
    delivery, o_cloud = parts.settings.delivery, parts.o_cloud
    if not delivery.registration_url:
        return False
    if not delivery.public_url:
        logger.warning("NETWEAVE_SMO_REGISTRATION_URL is set but NETWEAVE_PUBLIC_URL is not: cannot announce")
        return False
    payload = registration_payload(o_cloud.resolved_o_cloud_id(), o_cloud.resolved_global_cloud_id(),
                                   delivery.public_url.rstrip("/"))
    return announce_if_changed(delivery.registration_url, payload, parts.subscription_store,
                               store or parts.inventory_store, parts.delivery_queue)


def poll_inventory(parts: Components | None = None, adapter_id: str | None = None,
                   state: PollState | None = None) -> list[dict[str, Any]]:
    parts = parts or components()
    state = state or read_state(parts)
    registry = parts.ims_registry
    adapters = [registry.get(adapter_id)] if adapter_id else registry.all()
    observer = AlarmObserver(parts.alarm_ports(), parts.stored_pool_ids, state.stamps, state.inventory.known_hash)
    started = time.perf_counter()
    reports = poll_backends(adapters, parts.inventory_context, state.inventory, parts.events_publisher,
                            observer=observer, links=parts.server_linker(state.asset_generation))
    store_sites(parts, state, reports)
    reconcile_provisioning(parts, state, [adapter.adapter_id for adapter in adapters])
    record_poll(INVENTORY_POLL, (time.perf_counter() - started) * 1000,
                changes=sum(r.created + r.modified + r.deleted for r in reports),
                failures=sum(r.status == "failed" for r in reports),
                unreachable=sum(r.status == "unreachable" for r in reports))
    for alarms in observer.reports:
        if alarms.raised or alarms.changed or alarms.cleared:
            logger.info("alarms", extra={"report": alarms.__dict__})
    return [report.__dict__ for report in reports]


def reconcile_provisioning(parts: Components, state: PollState, backends: list[str]) -> None:
    """Move the polled backends' open provisioning requests on, after their inventory was stored (their resources
    are then listed); nothing to do, no request: the open set came with the poll's first read."""
    open_requests = {b: ids for b, ids in state.open_provisioning.items() if b in backends and ids}
    if not open_requests:
        return
    from chalicelib.services.provisioning_reconcile import reconcile_backend

    provisioning = parts.provisioning_ports()
    for backend, request_ids in open_requests.items():
        report = reconcile_backend(provisioning, backend, request_ids)
        if report.changed or report.errors:
            logger.info("provisioning reconciled", extra={"report": report.__dict__})


def poll_inventory_for_event(event: dict[str, Any], parts: Components | None = None) -> list[dict[str, Any]]:
    parts = parts or components()
    detail = event.get("detail") or {}
    adapter_id = detail.get("adapterId") if event.get("source") == "netweave" else None
    if adapter_id is not None and adapter_id not in parts.ims_registry.ids:
        return []  # an event about a backend this gateway does not serve
    return poll_inventory(parts, adapter_id)
