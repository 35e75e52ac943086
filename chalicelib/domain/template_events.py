"""Deployment template events for O2dms subscribers: `TemplateCreated` and `TemplateDeleted` (docs/dms.md,
"Deployment templates"). Pure.

They follow package events exactly (chalicelib/domain/package_events.py): sent only to a DMS subscription whose
`eventTypes` names them, and received as the catalogue's tenancy decides (docs/o2-conventions.md §6): a template of
the shared catalogue is news to every tenant, a per-tenant one (NETWEAVE_PACKAGES_PER_TENANT) only to its owner's
subscriptions and admins'.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from chalicelib.domain.events import ChangeEvent, ChangeType, EventSource

if TYPE_CHECKING:  # fan-out reads these events without loading the template model (and jsonschema's checks)
    from chalicelib.domain.deployment_templates import DeploymentTemplate

TEMPLATE_OBJECT_TYPE = "DeploymentTemplate"
TEMPLATE_EVENT_BACKEND = "deploymentTemplates"  # one FIFO message group: a creation is fanned out before its deletion
_NAMESPACE = uuid.UUID("3d9c1f52-8e0b-5a47-b6d2-41a7e9c0f813")


class TemplateEventType(StrEnum):
    CREATED = "TemplateCreated"
    DELETED = "TemplateDeleted"


TEMPLATE_EVENT_TYPES = frozenset(t.value for t in TemplateEventType)


def template_event(template: DeploymentTemplate, event_type: TemplateEventType, *, shared: bool,
                   at: str) -> ChangeEvent:
    """The event of one template's creation or deletion; its id depends only on the template and the event type, so
    a retried request's second publication is the same notification."""
    state = template.to_wire()
    created = event_type is TemplateEventType.CREATED
    return ChangeEvent(
        event_id=str(uuid.uuid5(_NAMESPACE, f"{template.deployment_template_id}|{event_type.value}")),
        source=EventSource.DMS, object_type=TEMPLATE_OBJECT_TYPE, object_id=template.deployment_template_id,
        event_type=ChangeType.CREATED if created else ChangeType.DELETED, backend=TEMPLATE_EVENT_BACKEND,
        prior=None if created else state, post=state if created else None, at=at, detail_type=event_type.value,
        owner=template.owner, shared=shared,
    )


def is_template_event(event: ChangeEvent) -> bool:
    return event.source is EventSource.DMS and event.object_type == TEMPLATE_OBJECT_TYPE


def template_event_view(event: ChangeEvent) -> dict[str, Any]:
    """What a DMS subscription filter selects on for a template event: `name`, `version` (and `packageId` when the
    template names its package by id) are the template's."""
    template = event.post or event.prior or {}
    view: dict[str, Any] = {"eventType": event.detail_type, "deploymentTemplateId": event.object_id}
    for name in ("name", "version", "packageId", "extensions"):
        if name in template:
            view[name] = template[name]
    return view
