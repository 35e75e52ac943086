"""O-Cloud registration: announced to the SMO once per identity, through the delivery pipeline (issue 4 item 5)."""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import boto3

from chalicelib import resources
from chalicelib.bootstrap import Components
from chalicelib.domain.subscriptions import SubscriptionKind
from chalicelib.handlers import inventory as inventory_handlers
from chalicelib.settings import settings_from_environment


def with_environment(**environment: str) -> Components:
    return Components(settings_from_environment({**os.environ, **environment}))


def queued_registrations(components: Components, url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    queue = components.queue_url(resources.DELIVERIES)
    found: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            body = json.loads(message["Body"])
            if body["callback"] == url:
                found.append(body)
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_the_ocloud_is_announced_once_and_again_when_its_identity_changes(moto_url: str) -> None:
    url = f"https://smo.example/register/{uuid.uuid4()}"
    components = with_environment(NETWEAVE_SMO_REGISTRATION_URL=url, NETWEAVE_PUBLIC_URL="https://o2.operator.example/")
    assert inventory_handlers.announce_registration(components) is True
    assert inventory_handlers.announce_registration(components) is False  # same identity: nothing new to say
    [first] = queued_registrations(components, url)
    settings = components.settings
    assert first["payload"] == {"globalCloudId": settings.gateway.o_cloud.resolved_global_cloud_id(),
                                "oCloudId": settings.gateway.o_cloud.resolved_o_cloud_id(),
                                "IMS_EP": "https://o2.operator.example"}
    assert first["kind"] == "registration"
    record = components.subscription_store.get(first["subscriptionId"])
    assert record is not None and record.kind is SubscriptionKind.REGISTRATION and record.secret.startswith("whsec_")
    components = with_environment(NETWEAVE_SMO_REGISTRATION_URL=url,
                                  NETWEAVE_PUBLIC_URL="https://o2-new.operator.example")
    assert inventory_handlers.announce_registration(components) is True
    [second] = queued_registrations(components, url)
    assert second["payload"]["IMS_EP"] == "https://o2-new.operator.example"
    assert second["subscriptionId"] == first["subscriptionId"]  # the same signing identity towards the SMO


def test_without_a_public_url_nothing_is_announced(moto_url: str) -> None:
    components = with_environment(NETWEAVE_SMO_REGISTRATION_URL="https://smo.example/register/x",
                                  NETWEAVE_PUBLIC_URL="")
    assert inventory_handlers.announce_registration(components) is False
