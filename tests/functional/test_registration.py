"""O-Cloud registration: announced to the SMO once per identity, through the delivery pipeline (issue 4 item 5)."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest

from chalicelib import config, handlers, resources
from chalicelib.domain.subscriptions import SubscriptionKind


def queued_registrations(url: str) -> list[dict]:
    sqs = boto3.client("sqs")
    queue = config.queue_url(resources.DELIVERIES.logical_name)
    found = []
    while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            body = json.loads(message["Body"])
            if body["callback"] == url:
                found.append(body)
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_the_ocloud_is_announced_once_and_again_when_its_identity_changes(
    moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"https://smo.example/register/{uuid.uuid4()}"
    monkeypatch.setenv("NETWEAVE_SMO_REGISTRATION_URL", url)
    monkeypatch.setenv("NETWEAVE_PUBLIC_URL", "https://o2.operator.example/")
    config.reset()
    assert handlers.announce_registration() is True
    assert handlers.announce_registration() is False  # same identity: nothing new to say
    [first] = queued_registrations(url)
    settings = config.get_settings()
    assert first["payload"] == {"globalCloudId": settings.gateway.o_cloud.resolved_global_cloud_id(),
                                "oCloudId": settings.gateway.o_cloud.resolved_o_cloud_id(),
                                "IMS_EP": "https://o2.operator.example"}
    assert first["kind"] == "registration"
    record = config.subscription_store().get(first["subscriptionId"])
    assert record is not None and record.kind is SubscriptionKind.REGISTRATION and record.secret.startswith("whsec_")
    monkeypatch.setenv("NETWEAVE_PUBLIC_URL", "https://o2-new.operator.example")
    config.reset()
    assert handlers.announce_registration() is True
    [second] = queued_registrations(url)
    assert second["payload"]["IMS_EP"] == "https://o2-new.operator.example"
    assert second["subscriptionId"] == first["subscriptionId"]  # the same signing identity towards the SMO


def test_without_a_public_url_nothing_is_announced(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETWEAVE_SMO_REGISTRATION_URL", "https://smo.example/register/x")
    monkeypatch.delenv("NETWEAVE_PUBLIC_URL", raising=False)
    config.reset()
    assert handlers.announce_registration() is False
