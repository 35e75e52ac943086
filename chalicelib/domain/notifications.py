"""Notification bodies in the exact shapes SMOs expect (docs/o2-conventions.md §4), built from change events. Pure."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.events import ChangeEvent, ChangeType
from chalicelib.domain.inventory import SELECTOR_SCHEMAS, ObjectType
from chalicelib.domain.inventory_versions import InventoryVersion, object_ref, shape
from chalicelib.domain.package_events import is_package_event, package_event_view
from chalicelib.domain.selectors import Selection, apply_selection
from chalicelib.domain.subscriptions import Subscription
from chalicelib.domain.template_events import is_template_event, template_event_view

MONITORING_ROOT = "/o2ims-infrastructureMonitoring/v1"
DMS_ROOT = "/o2dms/v1"

_INVENTORY_EVENT_TYPES = {ChangeType.CREATED: 0, ChangeType.MODIFIED: 1, ChangeType.DELETED: 2}
ALARM_NEW, ALARM_CHANGE, ALARM_CLEAR, ALARM_ACKNOWLEDGE = 0, 1, 2, 3
_CLEARED = 5
_ALARM_FIELDS = ("alarmEventRecordId", "resourceTypeID", "resourceID", "alarmDefinitionID", "probableCauseID",
                 "alarmRaisedTime", "alarmChangedTime", "alarmAcknowledged", "perceivedSeverity", "extensions")
_DMS_EVENT_TYPES = {ChangeType.CREATED: "DeploymentCreated", ChangeType.MODIFIED: "DeploymentProgressing",
                    ChangeType.DELETED: "DeploymentDeleted"}


def shown_state(object_type: str, document: dict[str, Any] | None) -> dict[str, Any] | None:
    """The object as a GET shows it by default; credentials (`extensions/profileData`) can never be part of it."""
    if document is None:
        return None
    schema = SELECTOR_SCHEMAS.get(ObjectType(object_type)) if object_type in ObjectType._value2member_map_ else None
    shown = apply_selection(document, Selection(), schema) if schema else dict(document)
    extensions = shown.get("extensions")
    if isinstance(extensions, dict) and "profileData" in extensions:
        shown["extensions"] = {k: v for k, v in extensions.items() if k != "profileData"}
    return shown


def inventory_notification(event: ChangeEvent, subscription: Subscription, notification_id: str) -> dict[str, Any]:
    """In the shape and paths of the version the subscription was made under (docs/o2-conventions.md "Versions")."""
    version = InventoryVersion(subscription.api_version or InventoryVersion.V1)
    prior, post = (_versioned(version, event.object_type, shown_state(event.object_type, state))
                   for state in (event.prior, event.post))
    body: dict[str, Any] = {"notificationId": notification_id,
                            "notificationEventType": _INVENTORY_EVENT_TYPES[event.event_type]}
    if subscription.consumer_subscription_id:
        body["consumerSubscriptionId"] = subscription.consumer_subscription_id
    if event.event_type is not ChangeType.DELETED and post is not None:
        body["objectRef"] = object_ref(version, event.object_type, event.object_id, post)
    if event.event_type is not ChangeType.CREATED and prior is not None:
        body["priorObjectState"] = prior
    if event.event_type is not ChangeType.DELETED and post is not None:
        body["postObjectState"] = post
    return body


def _versioned(version: InventoryVersion, object_type: str, state: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if state is None else shape(version, object_type, state)


def alarm_event_type(event: ChangeEvent) -> int:
    post, prior = event.post or {}, event.prior or {}
    if event.detail_type == "ACKNOWLEDGE" or (post.get("alarmAcknowledged") and not prior.get("alarmAcknowledged")):
        return ALARM_ACKNOWLEDGE
    if event.event_type is ChangeType.CREATED:
        return ALARM_NEW
    if post.get("perceivedSeverity") == _CLEARED or event.event_type is ChangeType.DELETED:
        return ALARM_CLEAR
    return ALARM_CHANGE


def alarm_notification(event: ChangeEvent, subscription: Subscription, notification_id: str,
                       global_cloud_id: str) -> dict[str, Any]:
    record = event.post or event.prior or {}
    body: dict[str, Any] = {"notificationId": notification_id, "globalCloudID": global_cloud_id,
                            "notificationEventType": alarm_event_type(event),
                            "objectRef": f"{MONITORING_ROOT}/alarms/{event.object_id}"}
    if subscription.consumer_subscription_id:
        body["consumerSubscriptionId"] = subscription.consumer_subscription_id
    body.update({name: record[name] for name in _ALARM_FIELDS if name in record})
    return body


def dms_event_view(event: ChangeEvent) -> dict[str, Any]:
    """What a DMS subscription filter selects on (docs/o2-conventions.md §4)."""
    if is_package_event(event):
        return package_event_view(event)
    if is_template_event(event):
        return template_event_view(event)
    deployment = event.post or event.prior or {}
    view = {"eventType": event.detail_type or _DMS_EVENT_TYPES[event.event_type], "deploymentId": event.object_id}
    for name in ("packageId", "namespace", "name", "status", "extensions"):
        if name in deployment:
            view[name] = deployment[name]
    return view


def dms_notification(event: ChangeEvent, subscription: Subscription, notification_id: str) -> dict[str, Any]:
    """A deployment event; or a package or template event, shaped like one (docs/dms.md, "Package events",
    "Deployment templates"): the object as GET shows it after the change (`deployment` / `deploymentPackage` /
    `deploymentTemplate`) and as it was before (`prior…`)."""
    if is_package_event(event):
        id_name, collection, state = "packageId", "deploymentPackages", "deploymentPackage"
    elif is_template_event(event):
        id_name, collection, state = "deploymentTemplateId", "deploymentTemplates", "deploymentTemplate"
    else:
        id_name, collection, state = "deploymentId", "deployments", "deployment"
    body: dict[str, Any] = {"notificationId": notification_id, "eventType": dms_event_view(event)["eventType"],
                            id_name: event.object_id, "timestamp": event.at,
                            "objectRef": f"{DMS_ROOT}/{collection}/{event.object_id}"}
    if subscription.consumer_subscription_id:
        body["consumerSubscriptionId"] = subscription.consumer_subscription_id
    if event.post is not None:
        body[state] = event.post
    if event.prior is not None:
        body["prior" + state[0].upper() + state[1:]] = event.prior
    return body
