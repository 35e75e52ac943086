"""Subscriptions of every kind (inventory, alarm, deployment) and the delivery messages built for them.

One record shape in one table (`resources.SUBSCRIPTIONS`); the kind decides which API shows it and which events
reach it. A delivery message is what `fan_out` enqueues on the `deliveries` FIFO queue and `deliver` consumes: it
carries everything needed to POST one notification except the signing secret, which `deliver` reads from the
subscription at send time (a rotated or disabled subscription then takes effect at once).
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from pydantic import Field

from chalicelib.domain.models import WireModel

_NOTIFICATION_NAMESPACE = uuid.UUID("9a3e4b1c-7d2f-5e60-8b19-4c5d6e7f8a90")


class SubscriptionKind(StrEnum):
    INVENTORY = "inventory"
    ALARM = "alarm"
    DMS = "dms"
    REGISTRATION = "registration"  # the SMO's O-Cloud registration endpoint (docs/o2-conventions.md §4, issue 4 item 5)


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"  # the SMO answered 410 Gone, or an operator disabled it


class Subscription(WireModel):
    """The stored record. `secret` signs every notification; it is shown to the SMO once, at creation."""

    subscription_id: str = Field(alias="subscriptionId")
    kind: SubscriptionKind
    callback: str
    consumer_subscription_id: str | None = Field(default=None, alias="consumerSubscriptionId")
    filter: str | None = None
    secret: str
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE
    status_reason: str | None = Field(default=None, alias="statusReason")
    created_at: str = Field(alias="createdAt")
    owner: str | None = None  # the tenant that created it (docs/o2-conventions.md §6, "Tenancy")
    # Created by an admin: a DMS subscription then receives every tenant's deployment events, not only its own's.
    all_tenants: bool = Field(default=False, alias="allTenants")
    # The Inventory API version it was made under ("v1" when absent): its notifications take that version's shape
    # and paths (docs/o2-conventions.md "Versions").
    api_version: str | None = Field(default=None, alias="apiVersion")


class DeliveryMessage(WireModel):
    """One notification for one subscription, as queued on `deliveries` (message group = subscription id)."""

    notification_id: str = Field(alias="notificationId")
    subscription_id: str = Field(alias="subscriptionId")
    kind: SubscriptionKind
    callback: str
    event_id: str = Field(alias="eventId")
    payload: dict[str, Any]
    created_at: str = Field(alias="createdAt")


def notification_id(event_id: str, subscription_id: str) -> str:
    """Stable per (event, subscription): every retry and every re-publication of the same change carries the same
    id, so the SMO can deduplicate (docs/architecture.md §4, §7)."""
    return str(uuid.uuid5(_NOTIFICATION_NAMESPACE, f"{event_id}|{subscription_id}"))
