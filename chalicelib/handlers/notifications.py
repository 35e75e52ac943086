"""`fan_out` (SQS `events` → `deliveries`) and `deliver` (SQS `deliveries` → the SMO's callbacks)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from chalicelib.bootstrap import Components, components
from chalicelib.domain.events import ChangeEvent
from chalicelib.observability import logger
from chalicelib.services.fan_out import fan_out


def fan_out_batch(event: dict[str, Any], parts: Components | None = None) -> dict[str, Any]:
    """A record that cannot be read is reported failed (SQS retries it, then moves it to the DLQ), and so is every
    later record of its message group, so each backend's events stay in order."""
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
        parts = parts or components()
        global_cloud_id = parts.o_cloud.resolved_global_cloud_id()
        report = fan_out(events, parts.subscription_store, parts.delivery_queue, global_cloud_id,
                         parts.settings.tenancy.default_tenant)
        logger.info("fan-out", extra={"report": report.__dict__})
    return {"batchItemFailures": failures}


def deliver_batch(event: dict[str, Any], context: Any = None, parts: Components | None = None) -> dict[str, Any]:
    """One batch of the `deliveries` FIFO queue; `context` is Lambda's, whose remaining time bounds the batch."""
    from chalicelib.services.delivery import deliver_batch as deliver  # httpx and the batch processor: deliver only

    ports = (parts or components()).delivery_ports
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        ports = replace(ports, remaining_ms=remaining)
    return deliver(event, ports)
