"""The inventory snapshot in DynamoDB (`resources.INVENTORY`).

Items: `pk` = object type, `sk` = object id, `backend`, `parentKey` (a resource's pool), `hash`, `observedAt` (the
poll's start, ms) and `doc` (the wire JSON as a string: served as it is stored, and parsing a JSON string is far
cheaper than turning a DynamoDB map into Python). One `Manifest` item per backend holds the hash of its whole
inventory. Writes are conditional on `observedAt`, so an older poll finishing late never overwrites a newer one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.events import ChangeType
from chalicelib.domain.snapshot import Change, ObjectKey, StoredEntry

MANIFEST = "Manifest"
_NEWER_WINS = "attribute_not_exists(pk) OR observedAt < :t"
_WRITERS = 16  # concurrent conditional writes: boto3 clients are thread-safe, and each write is one round trip
_BATCH_GET_LIMIT = 100


@dataclass(frozen=True)
class StoredObject:
    object_type: str
    object_id: str
    backend: str
    document: dict[str, Any]
    parent_key: str | None = None


@dataclass(frozen=True)
class Manifest:
    backend: str
    hash: str
    observed_at: int
    status: dict[str, Any] = field(default_factory=dict)


@dataclass
class ApplyResult:
    written: int = 0
    skipped: int = 0  # a newer poll had already written that object


class InventoryStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table = table_name

    # --- snapshot bookkeeping (the poller) ---

    def manifest(self, backend: str) -> Manifest | None:
        item = self.client.get_item(TableName=self.table, Key=_key(MANIFEST, backend), ConsistentRead=True).get("Item")
        if item is None:
            return None
        return Manifest(backend, item["hash"]["S"], int(item["observedAt"]["N"]), json.loads(item["status"]["S"]))

    def put_manifest(self, manifest: Manifest) -> bool:
        item = {
            **_key(MANIFEST, manifest.backend),
            "hash": {"S": manifest.hash},
            "observedAt": {"N": str(manifest.observed_at)},
            "status": {"S": json.dumps(manifest.status)},
        }
        return self._conditional(
            lambda: self.client.put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression=_NEWER_WINS,
                ExpressionAttributeValues={":t": {"N": str(manifest.observed_at)}},
            )
        )

    def stored_entries(self, backend: str) -> dict[ObjectKey, StoredEntry]:
        entries: dict[ObjectKey, StoredEntry] = {}
        for item in self._query_all(
            IndexName="byBackend",
            KeyConditionExpression="backend = :b",
            ExpressionAttributeValues={":b": {"S": backend}},
        ):
            entries[(item["pk"]["S"], item["sk"]["S"])] = StoredEntry(item["hash"]["S"], int(item["observedAt"]["N"]))
        return entries

    def documents(self, keys: Iterable[ObjectKey]) -> dict[ObjectKey, dict[str, Any]]:
        wanted = list(dict.fromkeys(keys))
        found: dict[ObjectKey, dict[str, Any]] = {}
        for start in range(0, len(wanted), _BATCH_GET_LIMIT):
            request = {
                self.table: {
                    "Keys": [_key(*k) for k in wanted[start : start + _BATCH_GET_LIMIT]],
                    "ProjectionExpression": "pk, sk, doc",
                }
            }
            while request:
                reply = self.client.batch_get_item(RequestItems=request)
                for item in reply["Responses"].get(self.table, []):
                    found[(item["pk"]["S"], item["sk"]["S"])] = json.loads(item["doc"]["S"])
                request = reply.get("UnprocessedKeys") or {}
        return found

    def apply(self, backend: str, changes: list[Change], observed_at: int) -> ApplyResult:
        """Write each change with its own conditional put or delete, several at a time.

        Not transactions: they cost twice the write capacity, one refused condition cancels all 100 items, and moto
        copies the whole table per transaction (minutes for a 5,000-node cluster's first poll)."""
        operations = [_operation(self.table, backend, change, observed_at) for change in changes]
        result = ApplyResult()
        if not operations:
            return result
        from concurrent.futures import ThreadPoolExecutor  # writers only: API reads never need threads

        with ThreadPoolExecutor(max_workers=min(_WRITERS, len(operations))) as pool:
            for landed in pool.map(self._single, operations):
                if landed:
                    result.written += 1
                else:
                    result.skipped += 1
        return result

    def _single(self, operation: dict[str, Any]) -> bool:
        if "Put" in operation:
            return self._conditional(lambda: self.client.put_item(**operation["Put"]))
        return self._conditional(lambda: self.client.delete_item(**operation["Delete"]))

    def _conditional(self, write: Any) -> bool:
        try:
            write()
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # --- reads (the API) ---

    def get(self, object_type: str, object_id: str) -> StoredObject | None:
        item = self.client.get_item(TableName=self.table, Key=_key(object_type, object_id)).get("Item")
        return _stored(item) if item else None

    def page(
        self, object_type: str, limit: int, start_key: dict[str, Any] | None = None, parent_key: str | None = None
    ) -> tuple[list[StoredObject], dict[str, Any] | None]:
        """One DynamoDB query page, in id order: the type's objects, or a pool's resources (`parent_key`)."""
        if parent_key is None:
            query: dict[str, Any] = {
                "KeyConditionExpression": "pk = :p",
                "ExpressionAttributeValues": {":p": {"S": object_type}},
            }
        else:
            query = {
                "IndexName": "byParent",
                "KeyConditionExpression": "parentKey = :p",
                "ExpressionAttributeValues": {":p": {"S": parent_key}},
            }
        if start_key:
            query["ExclusiveStartKey"] = start_key
        reply = self.client.query(TableName=self.table, Limit=limit, **query)
        return [_stored(item) for item in reply.get("Items", [])], reply.get("LastEvaluatedKey")

    def _query_all(self, **query: Any) -> Iterator[dict[str, Any]]:
        paginator = self.client.get_paginator("query")
        for page in paginator.paginate(TableName=self.table, **query):
            yield from page.get("Items", [])


START_KEY_ATTRIBUTES = frozenset({"pk", "sk"})  # of start_key_after's keys
BY_PARENT_START_KEY_ATTRIBUTES = START_KEY_ATTRIBUTES | {"parentKey"}  # on the byParent index


def start_key_after(item: StoredObject, by_parent: bool) -> dict[str, Any]:
    """The DynamoDB key to resume a query right after `item` (table keys, plus the index keys on byParent)."""
    key = _key(item.object_type, item.object_id)
    if by_parent and item.parent_key is not None:
        key["parentKey"] = {"S": item.parent_key}
    return key


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _stored(item: dict[str, Any]) -> StoredObject:
    return StoredObject(
        item["pk"]["S"],
        item["sk"]["S"],
        item.get("backend", {}).get("S", ""),
        json.loads(item["doc"]["S"]),
        item.get("parentKey", {}).get("S"),
    )


def _operation(table: str, backend: str, change: Change, observed_at: int) -> dict[str, Any]:
    values = {":t": {"N": str(observed_at)}}
    if change.change_type is ChangeType.DELETED:
        return {
            "Delete": {
                "TableName": table,
                "Key": _key(*change.key),
                "ExpressionAttributeValues": values,
                "ConditionExpression": "attribute_exists(pk) AND observedAt < :t",
            }
        }
    current = change.current
    assert current is not None
    item = {
        **_key(*change.key),
        "backend": {"S": backend},
        "hash": {"S": current.content_hash},
        "observedAt": {"N": str(observed_at)},
        "doc": {"S": json.dumps(current.document, separators=(",", ":"), ensure_ascii=False)},
    }
    if current.parent_key:
        item["parentKey"] = {"S": current.parent_key}
    return {
        "Put": {
            "TableName": table,
            "Item": item,
            "ConditionExpression": _NEWER_WINS,
            "ExpressionAttributeValues": values,
        }
    }
