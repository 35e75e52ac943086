"""Provisioning requests in DynamoDB (`resources.PROVISIONING`, key provisioningRequestId; docs/provisioning.md).

Three kinds of item share the table: the requests (SMO-chosen UUIDs, so never starting with '#'); `#open`, whose
`open:<backend>` string sets name the requests a backend's poll still has to reconcile (read in the poll's one
BatchGetItem, so a poll with nothing open pays no extra request); and `#owner#<sha256 of the tenant>` counters for
the per-tenant quota, changed in the same transaction as the request they count.

Every change to a request is conditional on the version it was read at: the API and two overlapping polls may
reconcile one request, and the loser re-reads instead of overwriting.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.adapters.store.owner_counts import count_update, counter_id, failed_at
from chalicelib.domain.errors import Conflict, Forbidden
from chalicelib.domain.provisioning_record import ProvisioningRecord

OPEN_ID = "#open"
_OWNER = "#owner#"
_OPEN_PREFIX = "open:"
_KEY = "provisioningRequestId"


class ProvisioningQuotaExceeded(Forbidden):
    slug = "quota-exceeded"


class DuplicateProvisioningRequest(Conflict):
    slug = "duplicate-provisioning-request"


def open_requests(item: dict[str, Any] | None) -> dict[str, list[str]]:
    """Each backend's open requests, from the `#open` item (None: no item, nothing open)."""
    if not item:
        return {}
    return {name[len(_OPEN_PREFIX):]: sorted(value["SS"]) for name, value in item.items()
            if name.startswith(_OPEN_PREFIX) and value.get("SS")}


class ProvisioningStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table = table_name

    def _key(self, request_id: str) -> dict[str, Any]:
        return {_KEY: {"S": request_id}}

    def create(self, record: ProvisioningRecord, max_per_owner: int | None) -> None:
        """Store a new request (409 if its id exists) and count it against its owner's quota (403 when full); then
        mark it open for its backend's poll."""
        writes: list[dict[str, Any]] = [{"Put": {"TableName": self.table, "Item": _item(record),
                                                 "ConditionExpression": f"attribute_not_exists({_KEY})"}}]
        if record.owner is not None:
            writes.append({"Update": self._count(record.owner, +1, max_per_owner)})
        try:
            self.client.transact_write_items(TransactItems=writes)
        except self.client.exceptions.TransactionCanceledException as error:
            if failed_at(error, 1):
                raise ProvisioningQuotaExceeded(f"quota exceeded: at most {max_per_owner} provisioning requests "
                                                "per client; delete one first") from None
            raise DuplicateProvisioningRequest(f"a provisioning request '{record.request_id}' already exists"
                                               ) from None
        self.mark_open(record.backend, record.request_id)

    def get(self, request_id: str) -> ProvisioningRecord | None:
        item = self.client.get_item(TableName=self.table, Key=self._key(request_id), ConsistentRead=True).get("Item")
        return _record(item) if item else None

    def save(self, record: ProvisioningRecord) -> ProvisioningRecord | None:
        """Write `record` if nobody changed it since it was read; the stored record (version + 1), or None when
        another writer came first (re-read and decide again)."""
        saved = record.model_copy(update={"version": record.version + 1})
        try:
            self.client.put_item(TableName=self.table, Item=_item(saved),
                                 ConditionExpression="#v = :v", ExpressionAttributeNames={"#v": "version"},
                                 ExpressionAttributeValues={":v": {"N": str(record.version)}})
        except self.client.exceptions.ConditionalCheckFailedException:
            return None
        return saved

    def remove(self, record: ProvisioningRecord) -> bool:
        """Delete the request (its pools are gone) and give its owner's quota back; False if it changed meanwhile."""
        writes: list[dict[str, Any]] = [{"Delete": {
            "TableName": self.table, "Key": self._key(record.request_id), "ConditionExpression": "#v = :v",
            "ExpressionAttributeNames": {"#v": "version"},
            "ExpressionAttributeValues": {":v": {"N": str(record.version)}}}}]
        if record.owner is not None:
            writes.append({"Update": self._count(record.owner, -1, None)})
        try:
            self.client.transact_write_items(TransactItems=writes)
        except self.client.exceptions.TransactionCanceledException as error:
            if failed_at(error, 0) or not failed_at(error, 1):
                return False  # changed or already removed (an overlapping poll): it decides again, or is done
            try:  # its owner's count is 0 (counted before counting existed): remove it without counting
                self.client.transact_write_items(TransactItems=writes[:1])
            except self.client.exceptions.TransactionCanceledException:
                return False
        self.mark_closed(record.backend, record.request_id)
        return True

    def mark_open(self, backend: str, request_id: str) -> None:
        self._open_set("ADD", backend, request_id)

    def mark_closed(self, backend: str, request_id: str) -> None:
        self._open_set("DELETE", backend, request_id)

    def _open_set(self, action: str, backend: str, request_id: str) -> None:
        self.client.update_item(TableName=self.table, Key=self._key(OPEN_ID), UpdateExpression=f"{action} #b :r",
                                ExpressionAttributeNames={"#b": _OPEN_PREFIX + backend},
                                ExpressionAttributeValues={":r": {"SS": [request_id]}})

    def open_requests(self) -> dict[str, list[str]]:
        item = self.client.get_item(TableName=self.table, Key=self._key(OPEN_ID), ConsistentRead=True).get("Item")
        return open_requests(item)

    def page(self, limit: int, start_key: dict[str, Any] | None = None
             ) -> tuple[list[ProvisioningRecord], dict[str, Any] | None]:
        """One Scan page of requests (the table's bookkeeping items are skipped)."""
        scan: dict[str, Any] = {"TableName": self.table, "Limit": limit, "ConsistentRead": True}
        if start_key:
            scan["ExclusiveStartKey"] = start_key
        reply = self.client.scan(**scan)
        records = [_record(item) for item in reply.get("Items", []) if not item[_KEY]["S"].startswith("#")]
        return records, reply.get("LastEvaluatedKey")

    def _count(self, owner: str, step: int, limit: int | None) -> dict[str, Any]:
        return count_update(self.table, self._key(owner_key(owner)), step, limit)


def owner_key(owner: str) -> str:
    return counter_id(_OWNER, owner)


def start_key_after(record: ProvisioningRecord) -> dict[str, Any]:
    return {_KEY: {"S": record.request_id}}


START_KEY_ATTRIBUTES = frozenset({_KEY})


def _item(record: ProvisioningRecord) -> dict[str, Any]:
    item: dict[str, Any] = {_KEY: {"S": record.request_id}, "version": {"N": str(record.version)},
                            "backend": {"S": record.backend},
                            "doc": {"S": json.dumps(record.model_dump(mode="json"), separators=(",", ":"))}}
    if record.owner is not None:
        item["owner"] = {"S": record.owner}
    return item


def _record(item: dict[str, Any]) -> ProvisioningRecord:
    record = ProvisioningRecord.model_validate(json.loads(item["doc"]["S"]))
    return record.model_copy(update={"version": int(item["version"]["N"])})
