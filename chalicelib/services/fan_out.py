"""`fan_out`: match change events against subscriptions and queue one delivery per (event, subscription).

Subscriptions are read once per batch (the store caches them a few seconds). O2ims filters (inventory, alarm) name
the events NOT to report: a matching event is skipped (docs/o2-conventions.md §4); DMS filters select. A
subscription only ever sees events of its own kind detected after it was created, and a DMS subscription only its
own tenant's deployments' events (every tenant's if an admin created it; docs/o2-conventions.md §6, "Tenancy").
Inventory and alarms describe shared infrastructure: every tenant's subscriptions receive them, as do package events
of the shared catalogue. A package or deployment template event goes only to a DMS subscription whose `eventTypes`
names it (docs/dms.md, "Events"): a subscriber that never asked for catalogue events never gets one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib.domain.errors import InvalidQuery
from chalicelib.domain.events import ChangeEvent, EventSource, utc_now_iso
from chalicelib.domain.notifications import (
    alarm_notification,
    dms_event_view,
    dms_notification,
    inventory_notification,
)
from chalicelib.domain.package_events import CATALOGUE_EVENT_TYPES, is_catalogue_event
from chalicelib.domain.query import Filter, parse_filter, parse_subscription_filter
from chalicelib.domain.snapshot import NOTIFIED_TYPES
from chalicelib.domain.subscriptions import DeliveryMessage, Subscription, SubscriptionKind, notification_id
from chalicelib.domain.tenancy import receives
from chalicelib.observability import logger
from chalicelib.services.subscriptions import split_dms_filter

KIND_OF_SOURCE = {EventSource.IMS: SubscriptionKind.INVENTORY, EventSource.ALARM: SubscriptionKind.ALARM,
                  EventSource.DMS: SubscriptionKind.DMS}


class SubscriptionSource(Protocol):
    def active(self, kinds: frozenset[SubscriptionKind]) -> list[Subscription]: ...


class DeliveryQueue(Protocol):
    def enqueue(self, deliveries: list[DeliveryMessage]) -> int: ...


@dataclass
class FanOutReport:
    events: int = 0
    deliveries: int = 0
    filtered: int = 0


def fan_out(events: list[ChangeEvent], subscriptions: SubscriptionSource, queue: DeliveryQueue,
            global_cloud_id: str, default_tenant: str | None = None) -> FanOutReport:
    """`default_tenant`: the owner of deployments stored before tenancy (NETWEAVE_DEFAULT_TENANT)."""
    report = FanOutReport(events=len(events))
    kinds = frozenset(KIND_OF_SOURCE[e.source] for e in events)
    candidates = subscriptions.active(kinds) if kinds else []
    filters = _parsed_filters(candidates)
    package_types = {s.subscription_id: _named_package_types(s.filter) for s in candidates
                     if s.kind is SubscriptionKind.DMS}
    deliveries: list[DeliveryMessage] = []
    now = utc_now_iso()
    for event in events:
        for subscription in candidates:
            if subscription.kind is not KIND_OF_SOURCE[event.source] or _predates(event, subscription):
                continue
            if not _addressed(event, subscription, package_types.get(subscription.subscription_id), default_tenant):
                continue  # another tenant's object, or a package event it never asked for: not even "filtered"
            if not _wanted(event, subscription, filters.get(subscription.subscription_id)):
                report.filtered += 1
                continue
            deliveries.append(_delivery(event, subscription, global_cloud_id, now))
    report.deliveries = queue.enqueue(deliveries) if deliveries else 0
    return report


def _parsed_filters(subscriptions: list[Subscription]) -> dict[str, Filter | None]:
    parsed: dict[str, Filter | None] = {}
    for subscription in subscriptions:
        if not subscription.filter:
            parsed[subscription.subscription_id] = None
            continue
        try:
            parse = parse_filter if subscription.kind is SubscriptionKind.DMS else parse_subscription_filter
            parsed[subscription.subscription_id] = parse(subscription.filter)
        except InvalidQuery:  # validated at creation; a stored filter that no longer parses must not stop others
            logger.warning("unparsable stored filter", extra={"subscription": subscription.subscription_id})
            parsed[subscription.subscription_id] = None
    return parsed


def _addressed(event: ChangeEvent, subscription: Subscription, package_types: frozenset[str] | None,
               default_tenant: str | None) -> bool:
    if event.source is not EventSource.DMS:
        return True
    if is_catalogue_event(event) and event.detail_type not in (package_types or ()):
        return False
    return event.shared or receives(event.owner, subscription.owner, subscription.all_tenants, default_tenant)


def _named_package_types(stored_filter: str | None) -> frozenset[str]:
    return CATALOGUE_EVENT_TYPES.intersection(split_dms_filter(stored_filter)[1] or ())


def _predates(event: ChangeEvent, subscription: Subscription) -> bool:
    """A subscription hears only changes seen after it was created (issue 16): the first poll's creates for a site
    that existed all along, still queued when an SMO subscribes, are no news to it."""
    try:
        return _instant(event.at) < _instant(subscription.created_at)
    except ValueError:  # an unreadable time must not cost a notification
        return False


def _instant(timestamp: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _wanted(event: ChangeEvent, subscription: Subscription, flt: Filter | None) -> bool:
    if event.source is EventSource.IMS and event.object_type not in NOTIFIED_TYPES:
        return False
    if flt is None:
        return True
    if event.source is EventSource.DMS:
        return flt.matches(dms_event_view(event))
    state: dict[str, Any] = event.post or event.prior or {}
    return not flt.matches(state, {"objectType": event.object_type})


def _delivery(event: ChangeEvent, subscription: Subscription, global_cloud_id: str, now: str) -> DeliveryMessage:
    identifier = notification_id(event.event_id, subscription.subscription_id)
    if event.source is EventSource.IMS:
        payload = inventory_notification(event, subscription, identifier)
    elif event.source is EventSource.ALARM:
        payload = alarm_notification(event, subscription, identifier, global_cloud_id)
    else:
        payload = dms_notification(event, subscription, identifier)
    return DeliveryMessage(notification_id=identifier, subscription_id=subscription.subscription_id,
                           kind=subscription.kind, callback=subscription.callback, event_id=event.event_id,
                           payload=payload, created_at=now)
