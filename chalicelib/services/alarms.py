"""Alarm use cases of the O2ims Infrastructure Monitoring API (docs/o2-conventions.md §1, §2): list and read alarm
records, the SMO's modifications (acknowledge, clear), and the alarm service configuration (retention).

Modifications follow the evaluator's rules (services/alarm_evaluation.py): the change event is published before the
record is written, so a crash between the two repeats the event (its id is derived from the record and the
transition, so the queue deduplicates it) rather than losing it. The write is conditional: a concurrent acknowledge
or clear makes it a 409.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from typing import Any

from chalicelib.adapters.store.alarm_store import START_KEY_ATTRIBUTES, AlarmStore, start_key_after
from chalicelib.domain.alarm_rules import platform_definition_id
from chalicelib.domain.alarms import (
    ALARM_SELECTOR_SCHEMA,
    AlarmAlreadyCleared,
    AlarmEventRecord,
    AlarmServiceConfiguration,
    Severity,
    acknowledge_alarm,
    alarm_event,
    clear_alarm,
    parse_modification,
)
from chalicelib.domain.errors import BadRequest, InvalidQuery, NotFound
from chalicelib.domain.selectors import Selection, apply_selection, validate_selection
from chalicelib.services.alarm_evaluation import AlarmPorts
from chalicelib.services.paging import ListRequest, Page, list_models

ACKNOWLEDGE, CLEAR = "acknowledge", "clear"
CLEARED_BY_SMO = "smo"
_REACHABILITY = "ClusterUnreachable"


def _iso(epoch: float) -> str:
    moment = dt.datetime.fromtimestamp(epoch, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- reads -----------------------------------------------------------------------------------------------------------


def list_alarms(store: AlarmStore, request: ListRequest) -> Page:
    return list_models(request, ALARM_SELECTOR_SCHEMA, store.page, start_key_after, scope="alarms",
                       key_attributes=START_KEY_ATTRIBUTES, resume=_resume_key)


def _resume_key(key: dict[str, Any]) -> dict[str, Any]:
    """A marker's key must be one this collection issued: a forged one must not become a DynamoDB error (500)."""
    if set(key) != {"alarmEventRecordId"} or not _is_uuid(key["alarmEventRecordId"]["S"]):
        raise InvalidQuery("nextpage_opaque_marker: not a marker of this collection")
    return key


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def get_alarm(store: AlarmStore, record_id: str, selection: Selection) -> dict[str, Any]:
    validate_selection(selection, ALARM_SELECTOR_SCHEMA)
    return apply_selection(find(store, record_id).to_wire(), selection, ALARM_SELECTOR_SCHEMA)


def find(store: AlarmStore, record_id: str) -> AlarmEventRecord:
    record = store.get(record_id)
    if record is None:
        raise NotFound(f"no alarm event record with id '{record_id}'")
    return record


# --- the SMO's modifications ---------------------------------------------------------------------------------------


def open_scope(record: AlarmEventRecord, o_cloud_id: str) -> str:
    """The evaluation scope the record belongs to (services/alarm_evaluation.py): ClusterUnreachable alarms live
    under `<backend>#reachability`, every other alarm under its condition's backend (`<backend>` for node and
    node-group alarms, `deployments` for deployment alarms)."""
    backend = str(record.extensions.get("backend", ""))
    unreachable = (
        record.alarm_definition_id == platform_definition_id(o_cloud_id, _REACHABILITY)
        or record.extensions.get("alarmName") == _REACHABILITY
    )
    return f"{backend}#reachability" if unreachable else backend


def modify_alarm(ports: AlarmPorts, record_id: str, document: Any) -> dict[str, Any]:
    """Apply a PATCH body; answers the AlarmEventRecordModifications that took effect."""
    action = parse_modification(document)
    record = find(ports.store, record_id)
    scope = open_scope(record, ports.o_cloud_id)
    now = _iso(ports.clock())
    if action == ACKNOWLEDGE:
        acknowledged = acknowledge_alarm(record, now)  # 409 if it is already
        ports.publisher.publish([alarm_event(record, acknowledged, scope, detail="ACKNOWLEDGE")])
        # A cleared alarm may still be acknowledged; it stays out of the open index.
        ports.store.acknowledge(acknowledged, None if acknowledged.cleared else scope)
        return {"alarmAcknowledged": True}
    if record.cleared:
        raise AlarmAlreadyCleared(f"alarm '{record.alarm_event_record_id}' is already cleared")
    cleared = clear_alarm(record, now, by=CLEARED_BY_SMO)
    ports.publisher.publish([alarm_event(record, cleared, scope)])
    ports.store.clear(cleared)
    _invalidate_evaluation(ports, scope)
    return {"perceivedSeverity": Severity.CLEARED.value}


def _invalidate_evaluation(ports: AlarmPorts, scope: str) -> None:
    """An unchanged poll skips evaluating a backend whose inputs are unchanged (services/alarm_evaluation.py); an
    alarm the SMO cleared while its condition holds must be raised again, so the next poll evaluates. After the
    write: a poll evaluating meanwhile then fails to record its stamp, and the one after evaluates again."""
    ports.store.invalidate_stamp(scope.removesuffix("#reachability"))


# --- the alarm service configuration -------------------------------------------------------------------------------


def get_configuration(store: AlarmStore) -> dict[str, Any]:
    return store.configuration().to_wire()


def replace_configuration(
    store: AlarmStore, retention_period: int, extensions: dict[str, Any], clock: Callable[[], float] = time.time
) -> dict[str, Any]:
    """PUT: the whole configuration."""
    return _save(
        store,
        store.configuration(),
        AlarmServiceConfiguration(retention_period=retention_period, extensions=extensions),
        clock,
    )


def patch_configuration(
    store: AlarmStore, patch: dict[str, Any], clock: Callable[[], float] = time.time
) -> dict[str, Any]:
    """PATCH, as a JSON merge patch (RFC 7396) of the wire form: members left out stay as they are; inside
    `extensions` a member set to null is removed; `retentionPeriod` cannot be removed."""
    current = store.configuration()
    if "retentionPeriod" in patch and patch["retentionPeriod"] is None:
        raise BadRequest("retentionPeriod: cannot be removed (it is required); give a number of days >= 1")
    retention = patch.get("retentionPeriod", current.retention_period)
    extensions = current.extensions
    if "extensions" in patch:
        extensions = merge_patch(current.extensions, patch["extensions"] or {})
    return _save(store, current, AlarmServiceConfiguration(retention_period=retention, extensions=extensions), clock)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 §2."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = merge_patch(merged.get(name), value)
    return merged


def _save(
    store: AlarmStore, before: AlarmServiceConfiguration, after: AlarmServiceConfiguration, clock: Callable[[], float]
) -> dict[str, Any]:
    store.put_configuration(after)
    if after.retention_period != before.retention_period:
        # A shorter retention takes effect now (not at the next scheduled purge), and every cleared record's TTL is
        # re-dated to the new period.
        store.purge(after.retention_period, clock())
    return after.to_wire()
