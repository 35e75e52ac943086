"""SubscriptionStore.active: what fan-out sees of subscriptions another process (the API) wrote. Each kind's list is
cached `cache_seconds` on the store's clock (a fake one here: no test waits for the cache to expire)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from chalicelib.adapters.store.subscription_store import SubscriptionStore
from chalicelib.domain.subscriptions import Subscription, SubscriptionKind, SubscriptionStatus

INVENTORY, ALARM = SubscriptionKind.INVENTORY, SubscriptionKind.ALARM


class Table:
    """The subscriptions table as `SubscriptionStore.page` queries it (the byKind index, one page); counts queries."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.queries: list[str] = []

    def query(self, **request: Any) -> dict[str, Any]:
        kind = request["ExpressionAttributeValues"][":k"]["S"]
        self.queries.append(kind)
        return {"Items": [i for i in self.items if i["kind"]["S"] == kind]}

    def add(self, kind: SubscriptionKind, status: SubscriptionStatus = SubscriptionStatus.ACTIVE) -> str:
        """What the API process writes: the store under test does not see it being written."""
        subscription = Subscription(subscription_id=str(uuid.uuid4()), kind=kind, callback="https://smo.example/n",
                                    secret="s" * 32, status=status, created_at="2024-01-01T00:00:00Z")
        self.items.append({"subscriptionId": {"S": subscription.subscription_id}, "kind": {"S": kind.value},
                           "doc": {"S": json.dumps(subscription.to_wire())}})
        return subscription.subscription_id


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ids(subscriptions: list[Subscription]) -> set[str]:
    return {s.subscription_id for s in subscriptions}


def test_a_subscription_written_elsewhere_is_seen_once_the_cached_list_expires() -> None:
    table, clock = Table(), Clock()
    store = SubscriptionStore(table, "subscriptions", cache_seconds=5.0, clock=clock)
    assert store.active(frozenset({INVENTORY})) == []
    created = table.add(INVENTORY)
    table.add(INVENTORY, SubscriptionStatus.DISABLED)  # never reported

    clock.now += 4.9
    assert store.active(frozenset({INVENTORY})) == []  # still the cached list: one query so far
    assert table.queries == ["inventory"]
    clock.now += 0.1
    assert ids(store.active(frozenset({INVENTORY}))) == {created}
    assert table.queries == ["inventory", "inventory"]


def test_each_kind_is_cached_on_its_own_so_a_seen_subscription_stays_seen_in_mixed_batches() -> None:
    """Fan-out asks per batch for the kinds of its events. Once a batch of inventory events has seen a new inventory
    subscription, a later batch of inventory and alarm events sees it too (a list cached per set of kinds, read
    before the subscription existed, would hide it for up to `cache_seconds` more)."""
    table, clock = Table(), Clock()
    store = SubscriptionStore(table, "subscriptions", cache_seconds=5.0, clock=clock)
    assert store.active(frozenset({INVENTORY})) == []
    clock.now += 4
    assert store.active(frozenset({INVENTORY, ALARM})) == []
    created = table.add(INVENTORY)
    clock.now += 1
    assert ids(store.active(frozenset({INVENTORY}))) == {created}  # the inventory list expired: read again
    clock.now += 1
    assert ids(store.active(frozenset({INVENTORY, ALARM}))) == {created}
    assert table.queries == ["inventory", "alarm", "inventory"]  # the alarm list is still the cached one
