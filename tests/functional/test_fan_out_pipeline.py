"""From a cluster change to queued notifications: poll_inventory → events queue → fan_out (driven by the local
event pump exactly as Lambda would call it) → one delivery per matching subscription on the deliveries queue."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

import app as app_module
from chalicelib import resources
from chalicelib.domain.events import utc_now_iso
from chalicelib.domain.subscriptions import Subscription, SubscriptionKind
from chalicelib.handlers import inventory as inventory_handlers
from devtools.localstack.pump import EventPump
from tests.functional.inventory_fixtures import Site, site_environment


@pytest.fixture()
def site(moto_url: str, tmp_path: Path) -> Iterator[Site]:
    yield from site_environment(tmp_path, adapter_id=f"fan-{uuid.uuid4().hex[:6]}", stage="dev")


def subscribe(site: Site, flt: str | None = None) -> Subscription:
    subscription = Subscription(subscription_id=str(uuid.uuid4()), kind=SubscriptionKind.INVENTORY,
                                callback=f"https://smo.example/{uuid.uuid4()}", filter=flt, secret="whsec_dGVzdA==",
                                created_at=utc_now_iso())
    return site.components.subscription_store.create(subscription)


def queued_deliveries(site: Site) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    url = site.components.queue_url(resources.DELIVERIES)
    found: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                          MessageSystemAttributeNames=["MessageGroupId"]).get("Messages", []):
        for message in messages:
            found.append({**json.loads(message["Body"]), "_group": message["Attributes"]["MessageGroupId"]})
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def drain_events(pump: EventPump) -> int:
    source = next(s for s in pump.queues if s.name == "fan_out")
    total = 0
    while received := pump.drain_once(source, wait_seconds=0):
        total += received
    return total


def test_a_node_change_reaches_every_subscriber_whose_filter_lets_it_through(site: Site) -> None:
    queued_deliveries(site)  # whatever earlier tests of this worker left
    everything, no_resources = subscribe(site), subscribe(site, "(eq,objectType,ResourceInfo)")
    pump = EventPump(app_module, boto3.session.Session(), interval=60)
    inventory_handlers.poll_inventory(site.components)
    drain_events(pump)
    queued_deliveries(site)  # the initial load: not what this test is about
    site.kubesim.add_node(name="fan-out-node")
    [report] = inventory_handlers.poll_inventory(site.components)
    assert drain_events(pump) == report["published"] > 0
    deliveries = queued_deliveries(site)
    to_everything = [d for d in deliveries if d["subscriptionId"] == everything.subscription_id]
    to_filtered = [d for d in deliveries if d["subscriptionId"] == no_resources.subscription_id]
    assert len(to_everything) == report["published"]
    assert to_filtered, "the deployment manager's capacity changed too: that event passes the filter"
    assert all("/resources/" not in d["payload"].get("objectRef", "") for d in to_filtered)
    assert any("fan-out-node" in json.dumps(d["payload"]) for d in to_everything)
    assert not any("fan-out-node" in json.dumps(d["payload"]) for d in to_filtered)
    assert {d["_group"] for d in to_everything} == {everything.subscription_id}


def test_a_disabled_subscription_gets_nothing(site: Site) -> None:
    from chalicelib.domain.subscriptions import SubscriptionStatus

    gone = subscribe(site)
    site.components.subscription_store.set_status(gone.subscription_id, SubscriptionStatus.DISABLED,
                                                  "410 from the SMO")
    pump = EventPump(app_module, boto3.session.Session(), interval=60)
    inventory_handlers.poll_inventory(site.components)
    assert drain_events(pump) > 0
    assert [d for d in queued_deliveries(site) if d["subscriptionId"] == gone.subscription_id] == []
