"""`evaluate_alarms`: turn what the pollers see into alarm records and their events (issue: alarms).

Scopes keep evaluations from touching each other's alarms: `<backend>` holds a backend's node and node-group alarms
(evaluated from each fresh inventory read), `<backend>#reachability` its ClusterUnreachable alarms (an unreachable
backend says nothing about its nodes, so their alarms stay as they were), `deployments` the deployment alarms.
Events are published before records are written, like every other pipeline here: a crash repeats, never loses.

An unchanged poll skips evaluating a backend whose inputs are those of its last evaluation: the rules depend only on
the backend's inventory (its stored snapshot's hash says whether it changed), the O-Cloud id, the time (only while a
cordon waits to be old enough: then every poll evaluates) and the open alarms, which change outside an evaluation
only by the SMO (whose modifications invalidate the stamp) or while the backend is unreachable (which invalidates it
too). A stamp is trusted for an hour at most, so a new deployment's rules apply within the hour.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from chalicelib.adapters.store.alarm_store import AlarmStore, EvaluationStamp
from chalicelib.domain import alarm_rules as rules
from chalicelib.domain.alarms import (
    AlarmAlreadyCleared,
    AlarmChanged,
    AlarmEventRecord,
    ClearingType,
    Condition,
    alarm_event,
)
from chalicelib.domain.events import EventPublisher, utc_now_iso
from chalicelib.domain.inventory import InventoryObject, ObjectType, inventory_object

UNREADY_AFTER_SECONDS = 600
STAMP_MAX_AGE_SECONDS = 3600



@dataclass(frozen=True)
class AlarmPorts:
    """What the alarm services write through (evaluation here, SMO modifications in `alarms`): the store, the event
    publisher, and the O-Cloud the alarms belong to."""

    store: AlarmStore
    publisher: EventPublisher
    o_cloud_id: str
    clock: Callable[[], float] = time.time


@dataclass
class AlarmReport:
    scope: str
    raised: int = 0
    changed: int = 0
    cleared: int = 0
    purged: int = 0
    pending: list[str] = field(default_factory=list)


def reachability_scope(backend: str) -> str:
    return f"{backend}#reachability"


def evaluate_inventory(ports: AlarmPorts, backend: str, objects: Iterable[InventoryObject]) -> AlarmReport:
    """After a successful read of `backend`: node conditions, cordons, node-group health; the backend is reachable."""
    documents = [(o.object_type.value, o.document) for o in objects]
    now = ports.clock()
    before = ports.store.pending(backend)
    conditions, pending = rules.node_conditions(backend, rules.node_views(documents), now, before)
    pools = [d for t, d in documents if t == ObjectType.RESOURCE_POOL.value]
    conditions += rules.pool_conditions(ports.o_cloud_id, backend, pools)
    if pending != before:
        ports.store.put_pending(backend, pending)
    report = apply(ports, backend, conditions)
    report.pending = sorted(pending)
    reachable = apply(ports, reachability_scope(backend), [])
    report.cleared += reachable.cleared
    return report


def evaluate_unreachable(ports: AlarmPorts, backend: str, manager_ids: Iterable[str], reason: str,
                         pool_ids: Iterable[str] = ()) -> AlarmReport:
    conditions = rules.unreachable_conditions(ports.o_cloud_id, backend, manager_ids, reason, pool_ids)
    return apply(ports, reachability_scope(backend), conditions)


def evaluate_deployments(ports: AlarmPorts, deployments: Iterable[dict[str, Any]],
                         failed_operations: dict[str, dict[str, Any]]) -> AlarmReport:
    conditions = rules.deployment_conditions(ports.o_cloud_id, deployments, failed_operations, ports.clock(),
                                             UNREADY_AFTER_SECONDS)
    return apply(ports, rules.DEPLOYMENTS_SCOPE, conditions)


def apply(ports: AlarmPorts, scope: str, conditions: list[Condition]) -> AlarmReport:
    store, report = ports.store, AlarmReport(scope)
    changes = rules.reconcile(store.open_records(scope), conditions, utc_now_iso())
    # A MANUAL occurrence has one record ever: if it exists (cleared by the SMO, maybe), it is not raised again.
    raised = [r for r in changes.raised if r.extensions.get("clearingType") != ClearingType.MANUAL.value
              or store.get(r.alarm_event_record_id) is None]
    events = [alarm_event(None, r, scope) for r in raised]
    events += [alarm_event(prior, post, scope) for prior, post in changes.changed + changes.cleared]
    if events:
        ports.publisher.publish(events)
    retention = store.configuration().retention_period if changes.changed or changes.cleared else 0
    report.raised = sum(store.put_raised(r, scope) for r in raised)
    report.changed = sum(store.put_changed(post, scope, retention) for _, post in changes.changed)
    report.cleared = sum(_clear(store, post, retention) for _, post in changes.cleared)
    return report


def _clear(store: AlarmStore, record: AlarmEventRecord, retention: int) -> bool:
    try:
        store.clear(record, retention)
    except AlarmAlreadyCleared:
        return False  # the SMO cleared it first
    except AlarmChanged:  # the SMO acknowledged it meanwhile: clear what it is now, acknowledgement kept
        current = store.get(record.alarm_event_record_id)
        if current is None or current.cleared:
            return False
        store.clear(current.model_copy(update={
            "perceived_severity": record.perceived_severity, "alarm_cleared_time": record.alarm_cleared_time,
            "alarm_changed_time": record.alarm_changed_time, "extensions": record.extensions}), retention)
    return True


def purge_expired(ports: AlarmPorts, due: float | None = None) -> int:
    """Purge alarms past retention if a purge is due (`due`: when the last purge said the next one would be; None:
    unknown, purge now). A retention period changed by the SMO purges at once and says when the next is due."""
    if due is not None and ports.clock() < due:
        return 0
    return ports.store.purge(ports.store.configuration().retention_period, ports.clock())


def inputs_digest(o_cloud_id: str, inventory_hash: str) -> str:
    return hashlib.sha256(f"{o_cloud_id}|{inventory_hash}".encode()).hexdigest()


class AlarmObserver:
    """The inventory poll's `PollObserver`: evaluates alarms on every read whose inputs changed since the last
    evaluation (`stamps`, read ahead; `inventory_hash`: a backend's stored inventory hash after its poll, None if
    unknown), and on every failed read."""

    def __init__(self, ports: AlarmPorts, stored_pools: Callable[[str], list[str]] | None = None,
                 stamps: dict[str, EvaluationStamp] | None = None,
                 inventory_hash: Callable[[str], str | None] | None = None) -> None:
        self.ports = ports
        self.stored_pools = stored_pools  # a backend's stored resource pool ids: the carriers when it has no manager
        self.stamps = stamps
        self.inventory_hash = inventory_hash
        self.reports: list[AlarmReport] = []

    def read(self, backend: str, objects: list[InventoryObject]) -> None:
        known = self.inventory_hash(backend) if self.inventory_hash is not None else None
        digest = inputs_digest(self.ports.o_cloud_id, known) if known else ""
        stamp = (self.stamps or {}).get(backend)
        now = self.ports.clock()
        if _still_valid(stamp, digest, now):
            return
        report = evaluate_inventory(self.ports, backend, objects)
        self.reports.append(report)
        if self.stamps is None:
            return  # no stamps read: none written either
        if report.pending:  # cordons waiting to be old enough: time is an input, evaluate every poll
            digest = ""
        if digest or (stamp is not None and stamp.digest):
            self.ports.store.put_stamp(backend, digest, now, stamp)

    def unreachable(self, backend: str, manager_ids: list[str], reason: str) -> None:
        pools = self.stored_pools(backend) if self.stored_pools is not None and not manager_ids else []
        self.reports.append(evaluate_unreachable(self.ports, backend, manager_ids, reason, pools))
        stamp = (self.stamps or {}).get(backend)
        if self.stamps is None or (stamp is not None and stamp.digest):  # the next read must clear those alarms
            self.ports.store.invalidate_stamp(backend)


def _still_valid(stamp: EvaluationStamp | None, digest: str, now: float) -> bool:
    return bool(digest) and stamp is not None and stamp.digest == digest \
        and now - stamp.evaluated_at < STAMP_MAX_AGE_SECONDS


class PlatformAlarmCatalog:
    """Polled like a backend, so the O-Cloud's platform alarm dictionary (deployment managers, node groups,
    deployments) is stored and served at `alarmDictionaries` like every backend's own."""

    adapter_id = "netweave-platform"

    def read_inventory(self, context: Any) -> list[InventoryObject]:
        return [inventory_object(rules.platform_dictionary(context.o_cloud_id))]
