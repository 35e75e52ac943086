"""O-Cloud registration (issue 4 item 5): where an SMO registration URL is configured, announce the O-Cloud to it
— `{"globalCloudId", "oCloudId", "IMS_EP"}`, as both peers do — when netweave is first deployed and whenever that
identity changes, through the same signed, retried delivery pipeline as every notification.

Checked on every scheduled poll; the identity last announced is kept as a manifest item, which the poll reads with
the backends' manifests (one request for all).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from chalicelib.adapters.store.inventory_store import InventoryStore, Manifest
from chalicelib.adapters.store.subscription_store import DuplicateSubscription, SubscriptionStore
from chalicelib.domain.events import utc_now_iso
from chalicelib.domain.subscriptions import DeliveryMessage, Subscription, SubscriptionKind, notification_id
from chalicelib.services.fan_out import DeliveryQueue
from chalicelib.services.inventory_poll import now_ms
from chalicelib.services.subscriptions import new_secret

_REGISTRATION_NAMESPACE = uuid.UUID("5e2d9c4a-1b3f-5a7e-9c8d-2f4e6a8b0c1d")


def registration_payload(o_cloud_id: str, global_cloud_id: str, ims_endpoint: str) -> dict[str, Any]:
    return {"globalCloudId": global_cloud_id, "oCloudId": o_cloud_id, "IMS_EP": ims_endpoint}


def registration_state_key(url: str) -> str:
    """The manifest id under which the identity last announced to `url` is kept."""
    return f"registration:{url}"


def announce_if_changed(url: str, payload: dict[str, Any], subscriptions: SubscriptionStore,
                        inventory: InventoryStore, queue: DeliveryQueue) -> bool:
    """Queue one registration delivery if `payload` differs from what was last announced to `url`."""
    identity = hashlib.sha256(json.dumps([url, payload], sort_keys=True).encode()).hexdigest()
    state_key = registration_state_key(url)
    announced = inventory.manifest(state_key)
    if announced is not None and announced.hash == identity:
        return False
    registration = _registration_subscription(url, subscriptions)
    event_id = f"registration-{identity}"
    message_id = notification_id(event_id, registration.subscription_id)
    queue.enqueue([DeliveryMessage(notification_id=message_id, subscription_id=registration.subscription_id,
                                   kind=SubscriptionKind.REGISTRATION, callback=url, event_id=event_id,
                                   payload=payload, created_at=utc_now_iso())])
    inventory.put_manifest(Manifest(state_key, identity, now_ms(), {"announcedAt": utc_now_iso()}))
    return True


def _registration_subscription(url: str, subscriptions: SubscriptionStore) -> Subscription:
    """The registration endpoint as a subscription record, so delivery signs, retries and records it like any
    other; its secret is generated once (operators read it with `python -m devtools.deliveries` tooling)."""
    subscription_id = str(uuid.uuid5(_REGISTRATION_NAMESPACE, url))
    existing = subscriptions.get(subscription_id)
    if existing is not None:
        return existing
    record = Subscription(subscription_id=subscription_id, kind=SubscriptionKind.REGISTRATION, callback=url,
                          secret=new_secret(), created_at=utc_now_iso(), owner="netweave")
    try:
        return subscriptions.create(record)
    except DuplicateSubscription:  # created concurrently by another poll
        found = subscriptions.get(subscription_id)
        assert found is not None
        return found
