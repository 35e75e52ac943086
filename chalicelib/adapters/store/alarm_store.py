"""Alarm records, the alarm service configuration and pending observations in DynamoDB (`resources.ALARMS`).

Items are keyed by `alarmEventRecordId`; besides alarm records (`kind = alarm`) the table holds the service
configuration (`config#alarmService`) and, per evaluation scope, the conditions seen but not yet old enough to raise
(`pending#<scope>`), per backend the stamp of its last evaluation (`evaluated#<backend>`, which lets an unchanged
poll skip evaluating) and when the next purge is due (`purge#due`). Open alarms carry `openScope`, which puts them in
the sparse `byOpenScope` index; clearing removes it and sets `expiresAt` (DynamoDB TTL, a backstop: `purge` deletes
expired records explicitly because TTL may lag by days).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.alarms import (
    AlarmAlreadyAcknowledged,
    AlarmAlreadyCleared,
    AlarmChanged,
    AlarmEventRecord,
    AlarmServiceConfiguration,
)

ALARM = "alarm"
_CONFIG_ID = "config#alarmService"
PURGE_DUE_ID = "purge#due"
_DAY = 86400
# Purges are at least this far apart: cleared alarms may outlive their retention by up to this much, so that alarms
# clearing one after another do not make every poll scan the table.
PURGE_INTERVAL_SECONDS = 3600


@dataclass(frozen=True)
class EvaluationStamp:
    """What the last evaluation of a backend's reads saw: the `digest` of its inputs ("" when the next read must be
    evaluated whatever it holds) and when; `generation` counts the SMO's modifications of the backend's alarms."""

    digest: str
    evaluated_at: float
    generation: int


def stamp_id(backend: str) -> str:
    return f"evaluated#{backend}"


def stamp_from_item(item: dict[str, Any]) -> EvaluationStamp:
    return EvaluationStamp(item.get("digest", {}).get("S", ""), float(item.get("evaluatedAt", {}).get("N", "0")),
                           int(item.get("generation", {}).get("N", "0")))


def purge_due_from_item(item: dict[str, Any]) -> float:
    return float(item["due"]["N"])


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _epoch(timestamp: str) -> int:
    return int(dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp())


def _record(item: dict[str, Any]) -> AlarmEventRecord:
    return AlarmEventRecord.model_validate(json.loads(item["doc"]["S"]))


class AlarmStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table = table_name

    def _item(self, record: AlarmEventRecord, scope: str | None, retention_days: int) -> dict[str, Any]:
        item: dict[str, Any] = {
            "alarmEventRecordId": _s(record.alarm_event_record_id), "kind": _s(ALARM),
            "resourceID": _s(record.resource_id), "alarmRaisedTime": _s(record.alarm_raised_time),
            "doc": _s(json.dumps(record.to_wire(), separators=(",", ":"), ensure_ascii=False)),
            "acked": {"BOOL": record.alarm_acknowledged},
        }
        if record.cleared and record.alarm_cleared_time:
            item["expiresAt"] = {"N": str(_epoch(record.alarm_cleared_time) + retention_days * _DAY)}
        elif scope:
            item["openScope"] = _s(scope)
        return item

    # --- reads -------------------------------------------------------------------------------------------------------

    def get(self, record_id: str) -> AlarmEventRecord | None:
        item = self.client.get_item(TableName=self.table, Key={"alarmEventRecordId": _s(record_id)},
                                    ConsistentRead=True).get("Item")
        return _record(item) if item and item.get("kind", {}).get("S") == ALARM else None

    def open_records(self, scope: str) -> list[AlarmEventRecord]:
        query: dict[str, Any] = {"TableName": self.table, "IndexName": "byOpenScope",
                                 "KeyConditionExpression": "openScope = :s", "ExpressionAttributeValues": {
                                     ":s": _s(scope)}}
        found: list[AlarmEventRecord] = []
        while True:
            reply = self.client.query(**query)
            found.extend(_record(i) for i in reply.get("Items", []))
            if not reply.get("LastEvaluatedKey"):
                return found
            query["ExclusiveStartKey"] = reply["LastEvaluatedKey"]

    def page(self, limit: int, start_key: dict[str, Any] | None = None) -> tuple[list[AlarmEventRecord],
                                                                                 dict[str, Any] | None]:
        """Up to `limit` alarm records in table order, and the key to resume after them: None when no alarm
        follows. Reads one record past the page to know: a scan stopped by its limit cannot tell, and the table's
        other items (configuration, pending observations, evaluation stamps) would otherwise end a listing with an
        empty page."""
        scan: dict[str, Any] = {"TableName": self.table, "Limit": limit + 1, "ConsistentRead": True,
                                "FilterExpression": "kind = :k", "ExpressionAttributeValues": {":k": _s(ALARM)}}
        if start_key:
            scan["ExclusiveStartKey"] = start_key
        found: list[AlarmEventRecord] = []
        while True:
            reply = self.client.scan(**scan)
            found.extend(_record(i) for i in reply.get("Items", []))
            if len(found) > limit:
                return found[:limit], start_key_after(found[limit - 1])
            if not reply.get("LastEvaluatedKey"):
                return found, None
            scan["ExclusiveStartKey"] = reply["LastEvaluatedKey"]

    # --- writes by the evaluator ------------------------------------------------------------------------------------

    def put_raised(self, record: AlarmEventRecord, scope: str) -> bool:
        """False if a record with this id exists already (a MANUAL occurrence raised before, maybe cleared)."""
        try:
            self.client.put_item(TableName=self.table, Item=self._item(record, scope, 0),
                                 ConditionExpression="attribute_not_exists(alarmEventRecordId)")
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def put_changed(self, record: AlarmEventRecord, scope: str, retention_days: int) -> bool:
        """Replace an open, unacknowledged record; False if the SMO cleared or acknowledged it meanwhile (the SMO
        wins: an acknowledged alarm no longer changes)."""
        try:
            self.client.put_item(
                TableName=self.table, Item=self._item(record, scope, retention_days),
                ConditionExpression="attribute_exists(openScope) AND acked = :f",
                ExpressionAttributeValues={":f": {"BOOL": False}})
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # --- writes by the SMO -------------------------------------------------------------------------------------------

    def acknowledge(self, record: AlarmEventRecord, scope: str | None) -> None:
        """Write the acknowledged record; 409 if someone acknowledged it first, or if it was cleared or reopened
        since it was read (writing it back would undo that)."""
        item = self._item(record, scope, self.configuration().retention_period)
        still = "attribute_exists(openScope)" if scope else "attribute_not_exists(openScope)"
        try:
            self.client.put_item(TableName=self.table, Item=item,
                                 ConditionExpression=f"attribute_exists(alarmEventRecordId) AND acked = :f AND {still}",
                                 ExpressionAttributeValues={":f": {"BOOL": False}})
        except self.client.exceptions.ConditionalCheckFailedException:
            current = self.get(record.alarm_event_record_id)
            if current is not None and current.alarm_acknowledged:
                raise AlarmAlreadyAcknowledged(
                    f"alarm '{record.alarm_event_record_id}' is already acknowledged") from None
            raise AlarmChanged(f"alarm '{record.alarm_event_record_id}' changed meanwhile (cleared by netweave?); "
                               "read it again and retry") from None

    def clear(self, record: AlarmEventRecord, retention_days: int | None = None) -> None:
        """Write the cleared record (out of the open index, with its expiry); 409 if it was cleared first. The
        acknowledgement the record was read with must still hold, so a clear never undoes an acknowledge."""
        retention = retention_days if retention_days is not None else self.configuration().retention_period
        item = self._item(record, None, retention)
        try:
            self.client.put_item(TableName=self.table, Item=item,
                                 ConditionExpression="attribute_exists(openScope) AND acked = :a",
                                 ExpressionAttributeValues={":a": {"BOOL": record.alarm_acknowledged}})
        except self.client.exceptions.ConditionalCheckFailedException:
            current = self.get(record.alarm_event_record_id)
            if current is None or current.cleared:
                raise AlarmAlreadyCleared(f"alarm '{record.alarm_event_record_id}' is already cleared") from None
            raise AlarmChanged(f"alarm '{record.alarm_event_record_id}' was acknowledged meanwhile; read it again "
                               "and retry") from None

    # --- configuration, pending observations, retention ---------------------------------------------------------------

    def configuration(self) -> AlarmServiceConfiguration:
        item = self.client.get_item(TableName=self.table, Key={"alarmEventRecordId": _s(_CONFIG_ID)},
                                    ConsistentRead=True).get("Item")
        if not item:
            return AlarmServiceConfiguration()
        return AlarmServiceConfiguration.model_validate(json.loads(item["doc"]["S"]))

    def put_configuration(self, configuration: AlarmServiceConfiguration) -> None:
        self.client.put_item(TableName=self.table, Item={
            "alarmEventRecordId": _s(_CONFIG_ID), "kind": _s("config"),
            "doc": _s(json.dumps(configuration.to_wire(), separators=(",", ":")))})

    def pending(self, scope: str) -> dict[str, float]:
        item = self.client.get_item(TableName=self.table, Key={"alarmEventRecordId": _s(f"pending#{scope}")},
                                    ConsistentRead=True).get("Item")
        return {k: float(v) for k, v in json.loads(item["doc"]["S"]).items()} if item else {}

    def put_pending(self, scope: str, pending: dict[str, float]) -> None:
        key = {"alarmEventRecordId": _s(f"pending#{scope}")}
        if not pending:
            self.client.delete_item(TableName=self.table, Key=key)
            return
        self.client.put_item(TableName=self.table, Item={**key, "kind": _s("pending"),
                                                         "doc": _s(json.dumps(pending, separators=(",", ":")))})

    # --- evaluation stamps ------------------------------------------------------------------------------------------

    def put_stamp(self, backend: str, digest: str, evaluated_at: float, read: EvaluationStamp | None) -> bool:
        """Record an evaluation, unless the SMO modified the backend's alarms since `read` was read (then the
        evaluation may have missed it: the next poll evaluates again). False if refused."""
        condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(alarmEventRecordId)"}
        if read is not None:
            condition = {"ConditionExpression": "generation = :g",
                         "ExpressionAttributeValues": {":g": {"N": str(read.generation)}}}
        item = {"alarmEventRecordId": _s(stamp_id(backend)), "kind": _s("stamp"), "digest": _s(digest),
                "evaluatedAt": {"N": repr(evaluated_at)}, "generation": {"N": str(read.generation if read else 0)}}
        try:
            self.client.put_item(TableName=self.table, Item=item, **condition)
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def invalidate_stamp(self, backend: str) -> None:
        """The backend's next read is evaluated whatever it holds (its alarms changed outside an evaluation)."""
        self.client.update_item(TableName=self.table, Key={"alarmEventRecordId": _s(stamp_id(backend))},
                                UpdateExpression="SET kind = :k, digest = :d ADD generation :one",
                                ExpressionAttributeValues={":k": _s("stamp"), ":d": _s(""), ":one": {"N": "1"}})

    def purge(self, retention_days: int, now: float) -> int:
        """Delete cleared alarms cleared more than `retention_days` ago; returns how many. Also re-dates the TTL
        of the others, so a changed retention period reaches DynamoDB's own expiry too, and records when the
        next purge is due: when the first of the others expires (an alarm cleared later expires later still)."""
        cutoff, deleted, due = now - retention_days * _DAY, 0, now + retention_days * _DAY
        scan: dict[str, Any] = {"TableName": self.table,
                                "FilterExpression": "kind = :k AND attribute_exists(expiresAt)",
                                "ExpressionAttributeValues": {":k": _s(ALARM)}, "ConsistentRead": True}
        while True:
            reply = self.client.scan(**scan)
            for item in reply.get("Items", []):
                record = _record(item)
                cleared_at = _epoch(record.alarm_cleared_time or record.alarm_raised_time)
                key = {"alarmEventRecordId": item["alarmEventRecordId"]}
                if cleared_at < cutoff:
                    self.client.delete_item(TableName=self.table, Key=key)
                    deleted += 1
                    continue
                due = min(due, cleared_at + retention_days * _DAY)
                if int(item["expiresAt"]["N"]) != cleared_at + retention_days * _DAY:
                    self.client.update_item(TableName=self.table, Key=key, UpdateExpression="SET expiresAt = :e",
                                            ExpressionAttributeValues={
                                                ":e": {"N": str(cleared_at + retention_days * _DAY)}})
            if not reply.get("LastEvaluatedKey"):
                break
            scan["ExclusiveStartKey"] = reply["LastEvaluatedKey"]
        next_purge = max(due, now + PURGE_INTERVAL_SECONDS)
        self.client.put_item(TableName=self.table, Item={
            "alarmEventRecordId": _s(PURGE_DUE_ID), "kind": _s("schedule"), "due": {"N": repr(next_purge)}})
        return deleted


START_KEY_ATTRIBUTES = frozenset({"alarmEventRecordId"})  # of start_key_after's keys


def start_key_after(record: AlarmEventRecord) -> dict[str, Any]:
    return {"alarmEventRecordId": _s(record.alarm_event_record_id)}
