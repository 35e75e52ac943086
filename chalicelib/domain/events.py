"""One change-event model for every source (docs/architecture.md §4): inventory, alarms and deployments."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any, Protocol

from pydantic import Field

from chalicelib.domain.models import WireModel

_EVENT_NAMESPACE = uuid.UUID("3c1f7e52-9d0b-5a6e-b4c8-1e2d3f4a5b6c")


class EventSource(StrEnum):
    IMS = "ims"
    ALARM = "alarm"
    DMS = "dms"


class ChangeType(StrEnum):
    CREATED = "created"
    MODIFIED = "modified"
    DELETED = "deleted"


class ChangeEvent(WireModel):
    """A change of one object, carrying its state before and after, as the API shows them."""

    event_id: str = Field(alias="eventId")
    source: EventSource
    object_type: str = Field(alias="objectType")
    object_id: str = Field(alias="objectId")
    event_type: ChangeType = Field(alias="eventType")
    backend: str
    prior: dict[str, Any] | None = None
    post: dict[str, Any] | None = None
    at: str
    # What happened in the source's own words where created/modified/deleted is too coarse (DMS:
    # DeploymentScaled, DeploymentRolledBack, ...; alarms: ACKNOWLEDGE).
    detail_type: str | None = Field(default=None, alias="detailType")
    # The tenant owning the object (DMS: the deployment's), so fan-out never sends it to another tenant's
    # subscription (docs/o2-conventions.md §6, "Tenancy"). None: shared infrastructure, or stored before tenancy.
    owner: str | None = None
    # Shared by every tenant (a package of the shared catalogue): every subscription of the kind receives it, whoever
    # `owner` is.
    shared: bool = False


def change_event_id(backend: str, object_id: str, prior_hash: str | None, post_hash: str | None) -> str:
    """The same change gets the same id whenever it is detected again (a poll that died before committing), so
    the notifications built from it carry the same `notificationId` and the SMO can deduplicate."""
    return str(uuid.uuid5(_EVENT_NAMESPACE, f"{backend}|{object_id}|{prior_hash or '-'}|{post_hash or '-'}"))


def utc_now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class EventPublisher(Protocol):
    """Port: where change events go (the `events` queue in AWS and locally; a list in unit tests)."""

    def publish(self, events: list[ChangeEvent]) -> int: ...
