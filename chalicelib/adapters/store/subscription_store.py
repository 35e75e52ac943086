"""Subscriptions in DynamoDB (`resources.SUBSCRIPTIONS`), every kind in one table.

A subscription item is keyed by its id; a second item keyed `dedupe#<hash of kind, callback, filter, consumer id>`
is written in the same transaction, both conditional on not existing, so two identical subscriptions can never
both be created, however many arrive at once (docs/o2-conventions.md §4: a duplicate is a 400).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from chalicelib.domain.errors import BadRequest
from chalicelib.domain.subscriptions import Subscription, SubscriptionKind, SubscriptionStatus

_DEDUPE = "dedupe#"


class DuplicateSubscription(BadRequest):
    slug = "duplicate-subscription"


def dedupe_key(subscription: Subscription) -> str:
    identity = json.dumps([subscription.kind.value, subscription.callback, subscription.filter or "",
                           subscription.consumer_subscription_id or ""])
    return _DEDUPE + hashlib.sha256(identity.encode()).hexdigest()


class SubscriptionStore:
    def __init__(self, client: Any, table_name: str, cache_seconds: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.table = table_name
        self.cache_seconds = cache_seconds
        self.clock = clock
        self._active: dict[SubscriptionKind, tuple[float, list[Subscription]]] = {}

    def create(self, subscription: Subscription) -> Subscription:
        item = _item(subscription)
        marker = {"subscriptionId": {"S": dedupe_key(subscription)}, "target": {"S": subscription.subscription_id}}
        absent = "attribute_not_exists(subscriptionId)"
        try:
            self.client.transact_write_items(TransactItems=[
                {"Put": {"TableName": self.table, "Item": item, "ConditionExpression": absent}},
                {"Put": {"TableName": self.table, "Item": marker, "ConditionExpression": absent}},
            ])
        except self.client.exceptions.TransactionCanceledException:
            raise DuplicateSubscription(
                "a subscription with the same callback, filter and consumerSubscriptionId already exists"
            ) from None
        self._active.clear()
        return subscription

    def get(self, subscription_id: str) -> Subscription | None:
        if subscription_id.startswith(_DEDUPE):
            return None
        item = self.client.get_item(TableName=self.table, Key={"subscriptionId": {"S": subscription_id}},
                                    ConsistentRead=True).get("Item")
        return _subscription(item) if item else None

    def delete(self, subscription: Subscription) -> None:
        self.client.transact_write_items(TransactItems=[
            {"Delete": {"TableName": self.table, "Key": {"subscriptionId": {"S": subscription.subscription_id}}}},
            {"Delete": {"TableName": self.table, "Key": {"subscriptionId": {"S": dedupe_key(subscription)}}}},
        ])
        self._active.clear()

    def page(self, kind: SubscriptionKind, limit: int,
             start_key: dict[str, Any] | None = None) -> tuple[list[Subscription], dict[str, Any] | None]:
        query: dict[str, Any] = {"TableName": self.table, "IndexName": "byKind", "Limit": limit,
                                 "KeyConditionExpression": "kind = :k",
                                 "ExpressionAttributeValues": {":k": {"S": kind.value}}}
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
            page, start = self.page(kind, 1000, start)
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
