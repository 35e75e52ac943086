"""Bodies of the event-driven functions; app.py only attaches them to their triggers."""

from __future__ import annotations

from typing import Any, cast

from chalicelib import config
from chalicelib.adapters.ims.port import InventoryAdapter
from chalicelib.domain.events import ChangeEvent
from chalicelib.observability import logger
from chalicelib.services.alarm_evaluation import AlarmObserver, AlarmPorts, PlatformAlarmCatalog, purge_expired
from chalicelib.services.fan_out import fan_out
from chalicelib.services.inventory_poll import poll_backends
from chalicelib.services.registration import announce_if_changed, registration_payload


def scheduled_poll() -> list[dict[str, Any]]:
    """The schedule's work: poll every backend (evaluating alarms), purge alarms past retention, then (re)announce
    the O-Cloud to the SMO if configured."""
    reports = poll_inventory()
    store_platform_catalog()
    purged = purge_expired(alarm_ports())
    if purged:
        logger.info("alarms purged", extra={"purged": purged})
    announce_registration()
    return reports


def store_platform_catalog() -> None:
    """The platform alarm dictionary, stored like a backend's objects (unchanged: one manifest read, no writes)."""
    catalog = cast(InventoryAdapter, PlatformAlarmCatalog())
    poll_backends([catalog], config.inventory_context(), config.inventory_store(), config.events_publisher())


def alarm_ports() -> AlarmPorts:
    o_cloud_id = config.get_settings().gateway.o_cloud.resolved_o_cloud_id()
    return AlarmPorts(config.alarm_store(), config.events_publisher(), o_cloud_id)


def announce_registration() -> bool:
    settings = config.get_settings()
    delivery, o_cloud = settings.delivery, settings.gateway.o_cloud
    if not delivery.registration_url:
        return False
    if not delivery.public_url:
        logger.warning("NETWEAVE_SMO_REGISTRATION_URL is set but NETWEAVE_PUBLIC_URL is not: cannot announce")
        return False
    payload = registration_payload(o_cloud.resolved_o_cloud_id(), o_cloud.resolved_global_cloud_id(),
                                   delivery.public_url.rstrip("/"))
    return announce_if_changed(delivery.registration_url, payload, config.subscription_store(),
                               config.inventory_store(), config.delivery_queue())


def poll_inventory(adapter_id: str | None = None) -> list[dict[str, Any]]:
    registry = config.ims_registry()
    adapters = cast(list[InventoryAdapter], [registry.get(adapter_id)] if adapter_id else registry.all())
    observer = AlarmObserver(alarm_ports())
    reports = poll_backends(adapters, config.inventory_context(), config.inventory_store(), config.events_publisher(),
                            observer=observer)
    for alarms in observer.reports:
        if alarms.raised or alarms.changed or alarms.cleared:
            logger.info("alarms", extra={"report": alarms.__dict__})
    return [report.__dict__ for report in reports]


def poll_inventory_for_event(event: dict[str, Any]) -> list[dict[str, Any]]:
    detail = event.get("detail") or {}
    adapter_id = detail.get("adapterId") if event.get("source") == "netweave" else None
    if adapter_id is not None and adapter_id not in config.ims_registry().ids:
        return []  # an event about a backend this gateway does not serve
    return poll_inventory(adapter_id)


def fan_out_batch(event: dict[str, Any]) -> dict[str, Any]:
    """SQS `events` → `deliveries`. A record that cannot be read is reported failed (SQS retries it, then moves it to
    the DLQ), and so is every later record of its message group, so each backend's events stay in order."""
    events, failures = [], []
    broken_groups: set[str] = set()
    for record in event.get("Records", []):
        group = record.get("attributes", {}).get("MessageGroupId", "")
        try:
            if group in broken_groups:
                raise ValueError("an earlier event of this group failed")
            events.append(ChangeEvent.model_validate_json(record["body"]))
        except (ValueError, KeyError):
            broken_groups.add(group)
            failures.append({"itemIdentifier": record.get("messageId", "")})
    if events:
        o_cloud = config.get_settings().gateway.o_cloud
        report = fan_out(events, config.subscription_store(), config.delivery_queue(),
                         o_cloud.resolved_global_cloud_id())
        logger.info("fan-out", extra={"report": report.__dict__})
    return {"batchItemFailures": failures}
