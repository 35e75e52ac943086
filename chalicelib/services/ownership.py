"""Operator use cases of tenancy (docs/o2-conventions.md §6, "Tenancy"): assign a record to a tenant, and rebuild the
per-tenant subscription counts. Both are admin routes (`/ops/owners/...`, scope `netweave:admin`).

Records stored before tenancy have no owner: they belong to NETWEAVE_DEFAULT_TENANT, or to no one until an admin
assigns them here. Assigning a subscription moves it from its old owner's quota count to the new owner's in one
transaction; `recount` is the backfill for subscriptions created before owners were counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from chalicelib.domain.errors import NotFound
from chalicelib.domain.subscriptions import Subscription

MAX_ID_LENGTH = 128  # every id netweave assigns is a UUID; a longer one cannot exist (and must not reach DynamoDB)


class OwnedKind(StrEnum):
    SUBSCRIPTION = "subscription"
    DEPLOYMENT = "deployment"
    PACKAGE = "package"


class OwnedSubscriptions(Protocol):
    def assign_owner(self, subscription_id: str, owner: str, /) -> Subscription | None: ...

    def recount(self) -> dict[str, int]: ...


class OwnedRecords(Protocol):
    def assign_owner(self, record_id: str, owner: str, /) -> bool: ...


@dataclass(frozen=True)
class OwnershipPorts:
    subscriptions: OwnedSubscriptions
    deployments: OwnedRecords
    packages: OwnedRecords


def assign_owner(ports: OwnershipPorts, kind: OwnedKind, record_id: str, owner: str) -> dict[str, Any]:
    """Make `owner` the tenant of one record; 404 if there is none with that id. A deployment's operations follow
    it (its owner decides who reads them while it exists)."""
    found = False
    if len(record_id) <= MAX_ID_LENGTH:
        if kind is OwnedKind.SUBSCRIPTION:
            found = ports.subscriptions.assign_owner(record_id, owner) is not None
        elif kind is OwnedKind.DEPLOYMENT:
            found = ports.deployments.assign_owner(record_id, owner)
        else:
            found = ports.packages.assign_owner(record_id, owner)
    if not found:
        raise NotFound(f"no {kind.value} with id '{record_id[:MAX_ID_LENGTH]}'")
    return {"kind": kind.value, "id": record_id, "owner": owner}


def recount_subscriptions(ports: OwnershipPorts) -> dict[str, Any]:
    """Every tenant's subscription count rebuilt from the subscriptions held now."""
    counts = ports.subscriptions.recount()
    return {"subscriptionsPerOwner": dict(sorted(counts.items()))}
