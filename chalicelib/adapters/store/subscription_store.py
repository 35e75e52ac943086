"""Subscriptions in DynamoDB (`resources.SUBSCRIPTIONS`), every kind in one table.

A subscription item is keyed by its id; a second item keyed `dedupe#<hash of kind, callback, filter, consumer id>`
is written in the same transaction, both conditional on not existing, so two identical subscriptions can never
both be created, however many arrive at once (docs/o2-conventions.md §4: a duplicate is a 400).

A subscription with an `owner` (the tenant that created it, docs/o2-conventions.md §6) also counts in an item keyed
`owner#<hash of the tenant>`, changed in the same transaction, so a per-tenant quota holds however many requests
arrive at once (docs/security.md, "Limits and disclosure"). Assigning another owner moves the count in the same
transaction; `recount` rebuilds every count from the subscriptions themselves (for records stored before counting).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from chalicelib.adapters.store.owner_counts import count_update, counter_id, failed_at
from chalicelib.domain.errors import BadRequest, Conflict, Forbidden
from chalicelib.domain.subscriptions import Subscription, SubscriptionKind, SubscriptionStatus

_DEDUPE = "dedupe#"
_OWNER = "owner#"
_COUNTER = 2  # the owner counter's place in a create or delete transaction


class DuplicateSubscription(BadRequest):
    slug = "duplicate-subscription"


class SubscriptionQuotaExceeded(Forbidden):
    slug = "quota-exceeded"


def owner_key(owner: str) -> str:
    return counter_id(_OWNER, owner)


def dedupe_key(subscription: Subscription) -> str:
    """The same callback, filter and consumer id under another API version is another subscription (its
    notifications differ in shape and paths); v1 records carry no version, so their keys read as before."""
    fields = [subscription.kind.value, subscription.callback, subscription.filter or "",
              subscription.consumer_subscription_id or ""]
    identity = json.dumps(fields + ([subscription.api_version] if subscription.api_version else []))
    return _DEDUPE + hashlib.sha256(identity.encode()).hexdigest()


class SubscriptionStore:
    def __init__(self, client: Any, table_name: str, cache_seconds: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.table = table_name
        self.cache_seconds = cache_seconds
        self.clock = clock
        self._active: dict[SubscriptionKind, tuple[float, list[Subscription]]] = {}

    def create(self, subscription: Subscription, max_per_owner: int | None = None) -> Subscription:
        """Store it unless an identical one exists (400) or its owner already holds `max_per_owner` (403)."""
        item = _item(subscription)
        marker = {"subscriptionId": {"S": dedupe_key(subscription)}, "target": {"S": subscription.subscription_id}}
        absent = "attribute_not_exists(subscriptionId)"
        writes: list[dict[str, Any]] = [
            {"Put": {"TableName": self.table, "Item": item, "ConditionExpression": absent}},
            {"Put": {"TableName": self.table, "Item": marker, "ConditionExpression": absent}},
        ]
        if subscription.owner is not None:
            writes.append({"Update": self._count(subscription.owner, +1, max_per_owner)})
        try:
            self.client.transact_write_items(TransactItems=writes)
        except self.client.exceptions.TransactionCanceledException as error:
            if failed_at(error, _COUNTER):
                raise SubscriptionQuotaExceeded(
                    f"quota exceeded: at most {max_per_owner} subscriptions per client; delete one first"
                ) from None
            raise DuplicateSubscription(
                "a subscription with the same callback, filter and consumerSubscriptionId already exists"
            ) from None
        self._active.clear()
        return subscription

    def get(self, subscription_id: str) -> Subscription | None:
        item = self._item_of(subscription_id)
        return _subscription(item) if item else None

    def delete(self, subscription: Subscription) -> None:
        writes: list[dict[str, Any]] = [
            {"Delete": {"TableName": self.table, "Key": {"subscriptionId": {"S": subscription.subscription_id}}}},
            {"Delete": {"TableName": self.table, "Key": {"subscriptionId": {"S": dedupe_key(subscription)}}}},
        ]
        if subscription.owner is not None:
            writes.append({"Update": self._count(subscription.owner, -1, None)})
        try:
            self.client.transact_write_items(TransactItems=writes)
        except self.client.exceptions.TransactionCanceledException as error:
            if not failed_at(error, _COUNTER):
                raise
            # created before owners were counted: its owner's count is already 0, delete it without counting
            self.client.transact_write_items(TransactItems=writes[:_COUNTER])
        self._active.clear()

    def assign_owner(self, subscription_id: str, owner: str) -> Subscription | None:
        """Make `owner` the subscription's tenant, moving one from the old owner's count to the new one's (no quota:
        an admin decides). None if there is no such subscription; 409 if it changed while this ran."""
        item = self._item_of(subscription_id)
        if item is None:
            return None
        current = _subscription(item)
        if current.owner == owner:
            return current
        moved = current.model_copy(update={"owner": owner})
        writes: list[dict[str, Any]] = [
            {"Update": {"TableName": self.table, "Key": {"subscriptionId": {"S": subscription_id}},
                        "UpdateExpression": "SET #d = :new", "ConditionExpression": "#d = :old",
                        "ExpressionAttributeNames": {"#d": "doc"},
                        "ExpressionAttributeValues": {":new": _item(moved)["doc"], ":old": item["doc"]}}},
            {"Update": self._count(owner, +1, None)},
        ]
        if current.owner is not None:
            writes.append({"Update": self._count(current.owner, -1, None)})
        try:
            self.client.transact_write_items(TransactItems=writes)
        except self.client.exceptions.TransactionCanceledException as error:
            if not failed_at(error, _COUNTER) or failed_at(error, 0):
                raise Conflict(f"subscription '{subscription_id}' changed meanwhile; try again") from None
            # the old owner's count is already 0 (created before owners were counted): move it without that
            self.client.transact_write_items(TransactItems=writes[:_COUNTER])
        self._active.clear()
        return moved

    def recount(self) -> dict[str, int]:
        """Set every owner's count to the number of subscriptions it holds now, counters without subscriptions to 0:
        the backfill for subscriptions created before owners were counted. Run it while nobody creates or deletes
        subscriptions: a change during the scan may be counted wrongly (the next recount corrects it)."""
        held: dict[str, int] = {}
        counters: set[str] = set()
        scan: dict[str, Any] = {"TableName": self.table, "ConsistentRead": True}
        while True:
            reply = self.client.scan(**scan)
            for item in reply.get("Items", []):
                key = item["subscriptionId"]["S"]
                if key.startswith(_OWNER):
                    counters.add(key)
                elif not key.startswith(_DEDUPE) and "doc" in item:
                    owner = _subscription(item).owner
                    if owner is not None:
                        held[owner] = held.get(owner, 0) + 1
            if not reply.get("LastEvaluatedKey"):
                break
            scan["ExclusiveStartKey"] = reply["LastEvaluatedKey"]
        counts = {owner_key(owner): count for owner, count in held.items()}
        for key in counters | set(counts):
            self.client.put_item(TableName=self.table,
                                 Item={"subscriptionId": {"S": key}, "owned": {"N": str(counts.get(key, 0))}})
        return held

    def _item_of(self, subscription_id: str) -> dict[str, Any] | None:
        if subscription_id.startswith((_DEDUPE, _OWNER)):
            return None
        item: dict[str, Any] | None = self.client.get_item(
            TableName=self.table, Key={"subscriptionId": {"S": subscription_id}}, ConsistentRead=True).get("Item")
        return item

    def owned(self, owner: str) -> int:
        """How many subscriptions `owner` holds (as counted since owners were counted)."""
        item = self.client.get_item(TableName=self.table, Key={"subscriptionId": {"S": owner_key(owner)}},
                                    ConsistentRead=True).get("Item")
        return int(item["owned"]["N"]) if item else 0

    def _count(self, owner: str, step: int, limit: int | None) -> dict[str, Any]:
        return count_update(self.table, {"subscriptionId": {"S": owner_key(owner)}}, step, limit)

    def page(self, kind: SubscriptionKind, limit: int | None,
             start_key: dict[str, Any] | None = None) -> tuple[list[Subscription], dict[str, Any] | None]:
        """`limit` None: as many as DynamoDB returns in one reply (1 MB, some 2,000 subscriptions)."""
        query: dict[str, Any] = {"TableName": self.table, "IndexName": "byKind",
                                 "KeyConditionExpression": "kind = :k",
                                 "ExpressionAttributeValues": {":k": {"S": kind.value}}}
        if limit is not None:
            query["Limit"] = limit
        if start_key:
            query["ExclusiveStartKey"] = start_key
        reply = self.client.query(**query)
        return [_subscription(i) for i in reply.get("Items", [])], reply.get("LastEvaluatedKey")

    def active(self, kinds: frozenset[SubscriptionKind]) -> list[Subscription]:
        """Every active subscription of these kinds; each kind's list cached for a few seconds, because fan-out asks
        once per batch and a subscription created a moment ago may wait that long for its first notification. Cached
        per kind, not per set of kinds: once one batch has seen a new subscription, every later batch with events of
        its kind sees it too, whatever other kinds the batch holds."""
        found: list[Subscription] = []
        for kind in sorted(kinds, key=lambda k: k.value):
            cached = self._active.get(kind)
            if cached is None or self.clock() - cached[0] >= self.cache_seconds:
                cached = (self.clock(), self._read_active(kind))
                self._active[kind] = cached
            found.extend(cached[1])
        return found

    def _read_active(self, kind: SubscriptionKind) -> list[Subscription]:
        found: list[Subscription] = []
        start: dict[str, Any] | None = None
        while True:
            # no Limit: a count limit would end a page at 1,000 and cost a second, empty query for exactly 1,000
            page, start = self.page(kind, None, start)
            found.extend(s for s in page if s.status is SubscriptionStatus.ACTIVE)
            if start is None:
                return found

    def set_status(self, subscription_id: str, status: SubscriptionStatus, reason: str) -> None:
        self.client.update_item(
            TableName=self.table, Key={"subscriptionId": {"S": subscription_id}},
            UpdateExpression="SET #d = :d", ConditionExpression="attribute_exists(subscriptionId)",
            ExpressionAttributeNames={"#d": "doc"},
            ExpressionAttributeValues={":d": {"S": _with_status(self.get(subscription_id), status, reason)}},
        )
        self._active.clear()


def _item(subscription: Subscription) -> dict[str, Any]:
    return {"subscriptionId": {"S": subscription.subscription_id}, "kind": {"S": subscription.kind.value},
            "doc": {"S": json.dumps(subscription.to_wire(), separators=(",", ":"))}}


def _subscription(item: dict[str, Any]) -> Subscription:
    return Subscription.model_validate(json.loads(item["doc"]["S"]))


def _with_status(subscription: Subscription | None, status: SubscriptionStatus, reason: str) -> str:
    if subscription is None:
        raise KeyError("subscription vanished")
    updated = subscription.model_copy(update={"status": status, "status_reason": reason})
    return json.dumps(updated.to_wire(), separators=(",", ":"))
