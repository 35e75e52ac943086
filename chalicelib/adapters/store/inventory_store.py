"""The inventory snapshot in DynamoDB (`resources.INVENTORY`).

Object items: `pk` = object type, `sk` = object id, `backend`, `parentKey` (a resource's pool), `hash`, `observedAt`
(the poll's start, ms) and `doc` (the wire JSON as a string: served as it is stored, and parsing a JSON string is far
cheaper than turning a DynamoDB map into Python). Per backend, a `Manifest` item holds the hash of its whole
inventory and the poll lease; the shard items (`pk` = `Shard#<backend>`, `sk` = the shard number, zero-padded) hold
the backend's (type, id) -> hash entries, and one more (`sk` = `digests`) the shard count and every shard's digest
(domain/shards.py). Shard items have no `backend` or `parentKey`, so neither index lists them.

Snapshot writes are unconditional batches; what keeps an older poll from overwriting a newer one is the lease: a
poll writes only while it holds its backend's lease, and commits only if no newer poll has committed before it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from chalicelib.adapters.store.batches import batch_get, write_batches
from chalicelib.domain.events import ChangeType
from chalicelib.domain.shards import Entries, ShardUpdate, decode, encode
from chalicelib.domain.snapshot import Change, ObjectKey, StoredEntry

MANIFEST = "Manifest"
SHARD = "Shard#"
DIGESTS = "digests"
_NEWER_WINS = "attribute_not_exists(pk) OR observedAt < :t"


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


@dataclass(frozen=True)
class ShardDigests:
    count: int
    digests: bytes


@dataclass(frozen=True)
class Lease:
    owner: str
    backend: str
    manifest: Manifest | None  # as it stood when the lease was taken (None: never committed)


@dataclass(frozen=True)
class Release:
    held: bool
    rerun: bool


class InventoryStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table = table_name

    # --- snapshot bookkeeping (the poller) ---

    def manifest(self, backend: str) -> Manifest | None:
        """None for a backend whose first poll has not committed (its item may hold just a lease)."""
        item = self.client.get_item(TableName=self.table, Key=_key(MANIFEST, backend), ConsistentRead=True).get("Item")
        return manifest_of(backend, item) if item else None

    def put_manifest(self, manifest: Manifest) -> bool:
        """Outside the poll (registration's announced state): the newer write wins."""
        return self._conditional(
            lambda: self.client.put_item(
                TableName=self.table,
                Item=_manifest_item(manifest),
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
        found = batch_get(self.client, self.table, [_key(*k) for k in dict.fromkeys(keys)],
                          {"ProjectionExpression": "pk, sk, doc"})
        return {(item["pk"]["S"], item["sk"]["S"]): json.loads(item["doc"]["S"]) for item in found}

    def commit_snapshot(self, backend: str, changes: list[Change], observed_at: int,
                        update: ShardUpdate | None) -> int:
        """Write the changed objects, then their shards, then the digests: each phase lands whole before the next
        starts, so the index never claims an object write that did not happen (a poll dying in between leaves
        digests that differ from the backend's, and the next poll redoes the work). Unconditional writes: the
        caller holds the backend's poll lease (`take_lease`)."""
        write_batches(self.client, self.table, [_object_request(backend, change, observed_at) for change in changes])
        if update is None:
            return len(changes)
        shards = [{"PutRequest": {"Item": {**_key(SHARD + backend, _shard_sk(index)), "entries": {"S": encode(e)}}}}
                  for index, e in update.shards.items()]
        stale = [{"DeleteRequest": {"Key": _key(SHARD + backend, _shard_sk(index))}} for index in update.stale]
        write_batches(self.client, self.table, shards + stale)
        self.client.put_item(TableName=self.table, Item={
            **_key(SHARD + backend, DIGESTS), "count": {"N": str(update.count)}, "digests": {"B": update.digests}})
        return len(changes)

    def shard_digests(self, backend: str) -> ShardDigests | None:
        """None for a backend never polled since shards exist (a new table, or one written before them)."""
        item = self.client.get_item(TableName=self.table, Key=_key(SHARD + backend, DIGESTS),
                                    ConsistentRead=True).get("Item")
        return ShardDigests(int(item["count"]["N"]), bytes(item["digests"]["B"])) if item else None

    def read_shards(self, backend: str, indexes: Iterable[int]) -> dict[int, Entries]:
        """The entries of these shards (strongly consistent: the last commit's); a shard never written is empty."""
        wanted = list(indexes)
        found: dict[int, Entries] = {index: {} for index in wanted}
        keys = [_key(SHARD + backend, _shard_sk(index)) for index in wanted]
        for item in batch_get(self.client, self.table, keys, {"ConsistentRead": True}):
            found[int(item["sk"]["S"])] = decode(item["entries"]["S"])
        return found

    def objects_of_type(self, backend: str, object_type: str) -> dict[ObjectKey, dict[str, Any]]:
        """One backend's objects of one type, for types with few objects per backend (deployment managers)."""
        return {(item["pk"]["S"], item["sk"]["S"]): json.loads(item["doc"]["S"]) for item in self._query_all(
            KeyConditionExpression="pk = :p", FilterExpression="backend = :b",
            ExpressionAttributeValues={":p": {"S": object_type}, ":b": {"S": backend}})}

    # --- the poll lease, on the manifest item ---

    def take_lease(self, backend: str, owner: str, now: int, until: int) -> Lease | None:
        """None while another poll holds an unexpired lease; else the lease and the manifest as it stands now."""
        try:
            reply = self.client.update_item(
                TableName=self.table, Key=_key(MANIFEST, backend),
                UpdateExpression="SET leaseOwner = :o, leaseExpires = :e REMOVE rerun",
                ConditionExpression="attribute_not_exists(leaseOwner) OR leaseExpires < :now",
                ExpressionAttributeValues={":o": {"S": owner}, ":e": {"N": str(until)}, ":now": {"N": str(now)}},
                ReturnValues="ALL_NEW")
        except self.client.exceptions.ConditionalCheckFailedException:
            return None
        return Lease(owner, backend, manifest_of(backend, reply["Attributes"]))

    def request_rerun(self, backend: str, now: int) -> bool:
        """Ask the poll holding the lease to poll again when it is done; False if no lease is held any more."""
        return self._conditional(lambda: self.client.update_item(
            TableName=self.table, Key=_key(MANIFEST, backend), UpdateExpression="SET rerun = :t",
            ConditionExpression="attribute_exists(leaseOwner) AND leaseExpires >= :now",
            ExpressionAttributeValues={":t": {"BOOL": True}, ":now": {"N": str(now)}}))

    def release_lease(self, lease: Lease, manifest: Manifest | None) -> Release:
        """Give the lease back, writing `manifest` if given (else the manifest stays as it was). `rerun`: another
        poll asked for one meanwhile; `held`: False if the lease had expired and gone to another poll."""
        condition = {"ConditionExpression": "leaseOwner = :o", "ReturnValues": "ALL_OLD"}
        try:
            if manifest is not None:
                reply = self.client.put_item(TableName=self.table, Item=_manifest_item(manifest), **condition,
                                             ExpressionAttributeValues={":o": {"S": lease.owner}})
            else:
                reply = self.client.update_item(TableName=self.table, Key=_key(MANIFEST, lease.backend),
                                                UpdateExpression="REMOVE leaseOwner, leaseExpires, rerun",
                                                ExpressionAttributeValues={":o": {"S": lease.owner}}, **condition)
        except self.client.exceptions.ConditionalCheckFailedException:
            return Release(held=False, rerun=False)
        return Release(held=True, rerun=reply.get("Attributes", {}).get("rerun", {}).get("BOOL", False))

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


def _shard_sk(index: int) -> str:
    return f"{index:06d}"


def manifest_of(backend: str, item: dict[str, Any]) -> Manifest | None:
    if "hash" not in item:
        return None  # a lease taken before the backend's first commit
    return Manifest(backend, item["hash"]["S"], int(item["observedAt"]["N"]), json.loads(item["status"]["S"]))


def _manifest_item(manifest: Manifest) -> dict[str, Any]:
    return {
        **_key(MANIFEST, manifest.backend),
        "hash": {"S": manifest.hash},
        "observedAt": {"N": str(manifest.observed_at)},
        "status": {"S": json.dumps(manifest.status)},
    }


def object_item(backend: str, change: Change, observed_at: int) -> dict[str, Any]:
    """The item of a created or modified object, as the API reads it."""
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
    return item


def _object_request(backend: str, change: Change, observed_at: int) -> dict[str, Any]:
    if change.change_type is ChangeType.DELETED:
        return {"DeleteRequest": {"Key": _key(*change.key)}}
    return {"PutRequest": {"Item": object_item(backend, change, observed_at)}}
