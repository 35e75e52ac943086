"""Receiving notifications: verify the Standard Webhooks signature (with the `standardwebhooks` library) and parse
the body into one of the gateway's notification shapes (docs/o2-conventions.md §4). The gateway's OpenAPI document
describes no notification body, so these models are written from that section.

    receiver = NotificationReceiver([subscription.secret])
    notification = receiver.receive(raw_body, request_headers)   # SignatureError if it does not verify
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from netweave_client.errors import SignatureError


class _Notification(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    notification_id: str = Field(alias="notificationId")
    consumer_subscription_id: str | None = Field(default=None, alias="consumerSubscriptionId")


class InventoryChangeNotification(_Notification):
    """`notification_event_type`: 0 create, 1 modify, 2 delete. States have the shape a GET returns by default."""

    notification_event_type: int = Field(alias="notificationEventType")
    object_ref: str | None = Field(default=None, alias="objectRef")
    prior_object_state: dict[str, Any] | None = Field(default=None, alias="priorObjectState")
    post_object_state: dict[str, Any] | None = Field(default=None, alias="postObjectState")


class AlarmEventNotification(_Notification):
    """`notification_event_type`: 0 NEW, 1 CHANGE, 2 CLEAR, 3 ACKNOWLEDGE; the alarm record's members beside it."""

    notification_event_type: int = Field(alias="notificationEventType")
    global_cloud_id: str | None = Field(default=None, alias="globalCloudID")
    object_ref: str = Field(alias="objectRef")
    alarm_event_record_id: str = Field(alias="alarmEventRecordId")
    resource_type_id: str | None = Field(default=None, alias="resourceTypeID")
    resource_id: str | None = Field(default=None, alias="resourceID")
    alarm_definition_id: str | None = Field(default=None, alias="alarmDefinitionID")
    probable_cause_id: str | None = Field(default=None, alias="probableCauseID")
    alarm_raised_time: str | None = Field(default=None, alias="alarmRaisedTime")
    alarm_changed_time: str | None = Field(default=None, alias="alarmChangedTime")
    alarm_acknowledged: bool | None = Field(default=None, alias="alarmAcknowledged")
    perceived_severity: int | None = Field(default=None, alias="perceivedSeverity")
    extensions: dict[str, Any] | None = None


class DeploymentNotification(_Notification):
    """`event_type` `DeploymentCreated` ... `DeploymentDeleted`; the deployment after and before the change."""

    event_type: str = Field(alias="eventType")
    deployment_id: str = Field(alias="deploymentId")
    timestamp: str | None = None
    object_ref: str | None = Field(default=None, alias="objectRef")
    deployment: dict[str, Any] | None = None
    prior_deployment: dict[str, Any] | None = Field(default=None, alias="priorDeployment")


class PackageNotification(_Notification):
    """`event_type` `PackageCreated` or `PackageDeleted` (only to DMS subscriptions whose `eventTypes` name it)."""

    event_type: str = Field(alias="eventType")
    package_id: str = Field(alias="packageId")
    timestamp: str | None = None
    object_ref: str | None = Field(default=None, alias="objectRef")
    deployment_package: dict[str, Any] | None = Field(default=None, alias="deploymentPackage")
    prior_deployment_package: dict[str, Any] | None = Field(default=None, alias="priorDeploymentPackage")


class TemplateNotification(_Notification):
    """`event_type` `TemplateCreated` or `TemplateDeleted` (only to DMS subscriptions whose `eventTypes` name it)."""

    event_type: str = Field(alias="eventType")
    deployment_template_id: str = Field(alias="deploymentTemplateId")
    timestamp: str | None = None
    object_ref: str | None = Field(default=None, alias="objectRef")
    deployment_template: dict[str, Any] | None = Field(default=None, alias="deploymentTemplate")
    prior_deployment_template: dict[str, Any] | None = Field(default=None, alias="priorDeploymentTemplate")


class CloudRegistration(BaseModel):
    """The O-Cloud announcing itself to the SMO (`{"globalCloudId", "oCloudId", "IMS_EP"}`)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    global_cloud_id: str = Field(alias="globalCloudId")
    o_cloud_id: str = Field(alias="oCloudId")
    ims_ep: str = Field(alias="IMS_EP")


Notification = (InventoryChangeNotification | AlarmEventNotification | DeploymentNotification
                | PackageNotification | TemplateNotification | CloudRegistration)


def parse_notification(body: Mapping[str, Any]) -> Notification:
    """The shape is told by its members: a DMS event by `eventType`, an alarm by `alarmEventRecordId`, the
    O-Cloud registration by `IMS_EP`; anything else with `notificationEventType` is an inventory change."""
    if "eventType" in body:
        if "packageId" in body:
            return PackageNotification.model_validate(body)
        if "deploymentTemplateId" in body:
            return TemplateNotification.model_validate(body)
        return DeploymentNotification.model_validate(body)
    if "alarmEventRecordId" in body:
        return AlarmEventNotification.model_validate(body)
    if "IMS_EP" in body:
        return CloudRegistration.model_validate(body)
    return InventoryChangeNotification.model_validate(body)


class NotificationReceiver:
    """Verifies with every secret given (one per subscription: `whsec_...`, shown once at its creation)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self._webhooks = [Webhook(secret) for secret in secrets]

    def add_secret(self, secret: str) -> None:
        self._webhooks.append(Webhook(secret))

    def verify(self, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
        """The parsed JSON body, once its `webhook-signature` verifies (id, timestamp within tolerance, HMAC)."""
        lowered = {name.lower(): value for name, value in headers.items()}
        for webhook in self._webhooks:
            try:
                verified = webhook.verify(body, lowered)
            except WebhookVerificationError:
                continue
            return verified if isinstance(verified, dict) else json.loads(body)
        raise SignatureError("the notification's signature matches none of the subscription secrets")

    def receive(self, body: bytes, headers: Mapping[str, str]) -> Notification:
        return parse_notification(self.verify(body, headers))
