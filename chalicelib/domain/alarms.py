"""O2ims alarms (docs/o2-conventions.md §1, §2): the record, severities, the SMO's modifications, the
service configuration, and the lifecycle rules (raise, change, clear, acknowledge). Pure: no I/O.

An alarm record is one occurrence of a condition on one object: raised when the condition appears, changed while
it lasts (severity or key attributes), cleared when it goes away (AUTOMATIC definitions) or when the SMO clears it
(any definition; MANUAL ones only so). A condition that returns after a clear is a new record.
"""

from __future__ import annotations

import uuid
from enum import IntEnum, StrEnum
from typing import Any

from pydantic import Field

from chalicelib.domain.errors import BadRequest, Conflict
from chalicelib.domain.events import ChangeEvent, ChangeType, EventSource, utc_now_iso
from chalicelib.domain.models import WireModel
from chalicelib.domain.selectors import SelectorSchema

_RECORD_NAMESPACE = uuid.UUID("5e2b8c1a-4d3f-5a6b-9c7d-8e9f0a1b2c3d")
DEFAULT_RETENTION_DAYS = 30


class Severity(IntEnum):
    CRITICAL = 0
    MAJOR = 1
    MINOR = 2
    WARNING = 3
    INDETERMINATE = 4
    CLEARED = 5


class ClearingType(StrEnum):
    AUTOMATIC = "AUTOMATIC"
    MANUAL = "MANUAL"


class AlarmEventRecord(WireModel):
    alarm_event_record_id: str = Field(alias="alarmEventRecordId")
    alarm_definition_id: str = Field(alias="alarmDefinitionID")
    probable_cause_id: str = Field(alias="probableCauseID")
    alarm_raised_time: str = Field(alias="alarmRaisedTime")
    alarm_changed_time: str | None = Field(default=None, alias="alarmChangedTime")
    alarm_cleared_time: str | None = Field(default=None, alias="alarmClearedTime")
    alarm_acknowledged: bool = Field(default=False, alias="alarmAcknowledged")
    alarm_acknowledged_time: str | None = Field(default=None, alias="alarmAcknowledgedTime")
    # Older clients read the acknowledge time under this name (docs/o2-conventions.md §2): same value, left out until
    # set.
    alarm_acknowledge_time: str | None = Field(default=None, alias="alarmAcknowledgeTime")
    perceived_severity: Severity = Field(alias="perceivedSeverity")
    resource_type_id: str = Field(alias="resourceTypeID")
    resource_id: str = Field(alias="resourceID")
    extensions: dict[str, Any] = Field(default_factory=dict)

    @property
    def cleared(self) -> bool:
        return self.perceived_severity is Severity.CLEARED

    @property
    def key(self) -> str:
        return str(self.extensions.get("alarmKey", ""))


ALARM_SELECTOR_SCHEMA = SelectorSchema(
    attributes=frozenset(f.alias or n for n, f in AlarmEventRecord.model_fields.items()),
    identifiers=frozenset({"alarmEventRecordId"}),
)


class AlarmServiceConfiguration(WireModel):
    retention_period: int = Field(default=DEFAULT_RETENTION_DAYS, alias="retentionPeriod", ge=1,
                                  description="days a cleared alarm is kept")
    extensions: dict[str, Any] = Field(default_factory=dict)


class Condition(WireModel):
    """A condition an evaluator found now: what a raised alarm would say. `key` identifies the condition across
    evaluations (definition + object + subject), so the same condition maps to the same open record."""

    key: str
    alarm_definition_id: str = Field(alias="alarmDefinitionID")
    resource_type_id: str = Field(alias="resourceTypeID")
    resource_id: str = Field(alias="resourceID")
    severity: Severity
    clearing_type: ClearingType = Field(alias="clearingType")
    backend: str
    attributes: dict[str, Any] = Field(default_factory=dict, description="key attributes shown in extensions")


def record_id(key: str, raised_at: str, clearing_type: ClearingType) -> str:
    """MANUAL conditions are occurrences (a failed operation): one record ever, so a re-evaluation after the SMO
    cleared it cannot raise it again. AUTOMATIC ones get a record per raise."""
    seed = key if clearing_type is ClearingType.MANUAL else f"{key}|{raised_at}"
    return str(uuid.uuid5(_RECORD_NAMESPACE, seed))


def raise_alarm(condition: Condition, now: str) -> AlarmEventRecord:
    return AlarmEventRecord(
        alarm_event_record_id=record_id(condition.key, now, condition.clearing_type),
        alarm_definition_id=condition.alarm_definition_id, probable_cause_id=condition.alarm_definition_id,
        alarm_raised_time=now, alarm_changed_time=now, perceived_severity=condition.severity,
        resource_type_id=condition.resource_type_id, resource_id=condition.resource_id,
        extensions=_extensions(condition),
    )


def _extensions(condition: Condition) -> dict[str, Any]:
    return {**condition.attributes, "alarmKey": condition.key, "backend": condition.backend,
            "clearingType": condition.clearing_type.value}


def change_alarm(record: AlarmEventRecord, condition: Condition, now: str) -> AlarmEventRecord | None:
    """The record updated to what the condition says now; None when nothing a client sees has changed."""
    extensions = _extensions(condition)
    if record.perceived_severity == condition.severity and record.extensions == extensions:
        return None
    return record.model_copy(update={"perceived_severity": condition.severity, "extensions": extensions,
                                     "alarm_changed_time": now})


def clear_alarm(record: AlarmEventRecord, now: str, by: str) -> AlarmEventRecord:
    return record.model_copy(update={
        "perceived_severity": Severity.CLEARED, "alarm_cleared_time": now, "alarm_changed_time": now,
        "extensions": {**record.extensions, "clearedBy": by}})


def acknowledge_alarm(record: AlarmEventRecord, now: str) -> AlarmEventRecord:
    if record.alarm_acknowledged:
        raise AlarmAlreadyAcknowledged(f"alarm '{record.alarm_event_record_id}' is already acknowledged")
    return record.model_copy(update={"alarm_acknowledged": True, "alarm_acknowledged_time": now,
                                     "alarm_acknowledge_time": now, "alarm_changed_time": now})


def parse_modification(document: Any) -> str:
    """A PATCH body: exactly `{"alarmAcknowledged": true}` ("acknowledge") or `{"perceivedSeverity": 5}` ("clear")."""
    if not isinstance(document, dict) or not document:
        raise BadRequest('the body must be {"alarmAcknowledged": true} or {"perceivedSeverity": 5}')
    unknown = sorted(set(document) - {"alarmAcknowledged", "perceivedSeverity"})
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}; only alarmAcknowledged or perceivedSeverity")
    if len(document) == 2:
        raise BadRequest("give either alarmAcknowledged or perceivedSeverity, not both")
    if "alarmAcknowledged" in document:
        if document["alarmAcknowledged"] is not True:
            raise BadRequest("alarmAcknowledged: only true is accepted (an acknowledgement cannot be withdrawn)")
        return "acknowledge"
    value = document["perceivedSeverity"]
    if isinstance(value, bool) or value != Severity.CLEARED.value:
        raise BadRequest("perceivedSeverity: only 5 (CLEARED) is accepted")
    return "clear"


def alarm_event(prior: AlarmEventRecord | None, post: AlarmEventRecord, scope: str,
                detail: str | None = None) -> ChangeEvent:
    """The change event of one alarm transition, for the unified notifications. Its id is derived from the record
    and the transition, so the same transition published twice is deduplicated."""
    phase = ("raise" if prior is None else "ack" if detail == "ACKNOWLEDGE" else
             "clear" if post.cleared else f"change|{post.alarm_changed_time}")
    return ChangeEvent(
        event_id=str(uuid.uuid5(_RECORD_NAMESPACE, f"{post.alarm_event_record_id}|{phase}")),
        source=EventSource.ALARM, object_type="AlarmEventRecord", object_id=post.alarm_event_record_id,
        event_type=ChangeType.CREATED if prior is None else ChangeType.MODIFIED, backend=scope,
        prior=prior.to_wire() if prior else None, post=post.to_wire(), at=utc_now_iso(), detail_type=detail,
    )


class AlarmAlreadyAcknowledged(Conflict):
    slug = "alarm-already-acknowledged"


class AlarmAlreadyCleared(Conflict):
    slug = "alarm-already-cleared"


class AlarmChanged(Conflict):
    slug = "alarm-changed"
