"""Deployment package events for O2dms subscribers: `PackageCreated` and `PackageDeleted` (docs/dms.md, "Events").
Pure.

A package event goes only to a DMS subscription whose `eventTypes` names it: subscriptions made before package
events existed (or without `eventTypes`) keep receiving deployment events only. Who receives one follows the
catalogue's tenancy (docs/o2-conventions.md §6): a package of the shared catalogue is news to every tenant, a
per-tenant package (NETWEAVE_PACKAGES_PER_TENANT) only to its owner's subscriptions and admins'.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from chalicelib.domain.deployments import DeploymentEventType
from chalicelib.domain.events import ChangeEvent, ChangeType, EventSource
from chalicelib.domain.packages import DeploymentPackage
from chalicelib.domain.template_events import TEMPLATE_EVENT_TYPES, TemplateEventType, is_template_event

PACKAGE_OBJECT_TYPE = "DeploymentPackage"
PACKAGE_EVENT_BACKEND = "packages"  # one FIFO message group: a package's creation is fanned out before its deletion
_NAMESPACE = uuid.UUID("6b0f4e9a-2c57-5d1e-9a38-0f7c2b1d4e65")


class PackageEventType(StrEnum):
    CREATED = "PackageCreated"
    DELETED = "PackageDeleted"


# Every event type a DMS subscription may name in `eventTypes`, in the order the stored filter lists them.
DMS_EVENT_TYPES: tuple[str, ...] = (*(t.value for t in DeploymentEventType), *(t.value for t in PackageEventType),
                                    *(t.value for t in TemplateEventType))
PACKAGE_EVENT_TYPES = frozenset(t.value for t in PackageEventType)
# The catalogue's events (packages, deployment templates): sent only to subscriptions whose `eventTypes` name them.
CATALOGUE_EVENT_TYPES = PACKAGE_EVENT_TYPES | TEMPLATE_EVENT_TYPES


def package_event(package: DeploymentPackage, event_type: PackageEventType, *, shared: bool, at: str) -> ChangeEvent:
    """The event of one package's creation or deletion. Its id depends only on the package and the event type, so
    an event published twice (a retried request) is one notification to the SMO."""
    state = package.to_wire()
    created = event_type is PackageEventType.CREATED
    return ChangeEvent(
        event_id=str(uuid.uuid5(_NAMESPACE, f"{package.package_id}|{event_type.value}")), source=EventSource.DMS,
        object_type=PACKAGE_OBJECT_TYPE, object_id=package.package_id,
        event_type=ChangeType.CREATED if created else ChangeType.DELETED, backend=PACKAGE_EVENT_BACKEND,
        prior=None if created else state, post=state if created else None, at=at, detail_type=event_type.value,
        owner=package.owner, shared=shared,
    )


def is_package_event(event: ChangeEvent) -> bool:
    return event.source is EventSource.DMS and event.object_type == PACKAGE_OBJECT_TYPE


def is_catalogue_event(event: ChangeEvent) -> bool:
    return is_package_event(event) or is_template_event(event)


def package_event_view(event: ChangeEvent) -> dict[str, Any]:
    """What a DMS subscription filter selects on for a package event: `name`, `version` and `packageType` are the
    package's (a deployment event's `name` is the deployment's)."""
    package = event.post or event.prior or {}
    view: dict[str, Any] = {"eventType": event.detail_type, "packageId": event.object_id}
    for name in ("name", "version", "packageType", "extensions"):
        if name in package:
            view[name] = package[name]
    return view
