"""What one change event costs in AWS requests when fan-out sends it to many subscriptions (issue 20, "Fan-out"):
the deliveries leave in full SendMessageBatch requests (10 notifications each), the subscriptions are read with one
query and then served from the cache, and every subscriber still gets exactly its own notification in its own message
group. Requests are counted at the botocore level against a real moto server, in tables and queues of a stage of
this module's own, so other tests' subscriptions never count."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from chalicelib import resources
from chalicelib.bootstrap import Components
from chalicelib.domain.events import ChangeEvent, ChangeType, EventSource, utc_now_iso
from chalicelib.domain.subscriptions import Subscription, SubscriptionKind
from chalicelib.handlers.notifications import fan_out_batch
from chalicelib.settings import settings_from_environment
from devtools.aws_requests import AwsRequestCounter
from devtools.localstack.provision import provision

SUBSCRIBERS = 100
POOL = {"resourcePoolId": "pool-1", "name": "du-pool", "description": "DU workers", "oCloudId": "o", "location": "l",
        "globalLocationId": "g", "extensions": {}}


@pytest.fixture(scope="module")
def stage(moto_url: str) -> str:
    name = f"f{uuid.uuid4().hex[:8]}"
    provision(settings_from_environment({**os.environ, "NETWEAVE_STAGE": name}), boto3.session.Session())
    return name


@pytest.fixture(scope="module")
def subscribers(stage: str) -> list[Subscription]:
    store = Components(settings_from_environment({**os.environ, "NETWEAVE_STAGE": stage})).subscription_store
    return [store.create(Subscription(subscription_id=str(uuid.uuid4()), kind=SubscriptionKind.INVENTORY,
                                      callback=f"https://smo.example/{index}", secret="whsec_dGVzdA==",
                                      created_at=utc_now_iso()))
            for index in range(SUBSCRIBERS)]


@pytest.fixture()
def container(stage: str) -> Iterator[tuple[Components, AwsRequestCounter]]:
    """A new Lambda container's composition root (nothing cached), its AWS clients counted."""
    parts = Components(settings_from_environment({**os.environ, "NETWEAVE_STAGE": stage}))
    parts.subscription_store.cache_seconds = 3600  # a slow machine never lets the cached list expire mid-test
    yield parts, AwsRequestCounter().attach(parts.clients.sqs, parts.clients.dynamodb)


def pool_changed() -> dict[str, Any]:
    """One record of the `events` queue, as Lambda hands it over."""
    event = ChangeEvent(event_id=str(uuid.uuid4()), source=EventSource.IMS, object_type="ResourcePoolInfo",
                        object_id="pool-1", event_type=ChangeType.MODIFIED, backend="site-a", prior=POOL,
                        post={**POOL, "description": "DU workers, resized"}, at=utc_now_iso())
    return {"Records": [{"messageId": str(uuid.uuid4()), "body": json.dumps(event.to_wire()),
                         "attributes": {"MessageGroupId": "ims:site-a"}}]}


def drain(parts: Components) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")  # not the counted client
    url = parts.queue_url(resources.DELIVERIES)
    found: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                          MessageSystemAttributeNames=["MessageGroupId"]).get("Messages", []):
        for message in messages:
            found.append({**json.loads(message["Body"]), "_group": message["Attributes"]["MessageGroupId"]})
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
    return found


def test_one_event_to_a_hundred_subscribers_costs_ten_sqs_batches_and_one_subscription_query(
        container: tuple[Components, AwsRequestCounter], subscribers: list[Subscription]) -> None:
    parts, counter = container
    drain(parts)

    assert fan_out_batch(pool_changed(), parts) == {"batchItemFailures": []}

    assert counter.of("sqs", "SendMessageBatch") == SUBSCRIBERS // 10
    assert counter.of("sqs") == SUBSCRIBERS // 10 + 1  # + the queue's URL, asked once per container
    assert counter.of("dynamodb") == counter.of("dynamodb", "Query") == 1
    deliveries = drain(parts)
    assert sorted(d["subscriptionId"] for d in deliveries) == sorted(s.subscription_id for s in subscribers)
    assert all(d["_group"] == d["subscriptionId"] for d in deliveries)  # each subscriber's own FIFO group
    assert len({d["notificationId"] for d in deliveries}) == SUBSCRIBERS


def test_a_container_given_the_queue_url_prefix_sends_only_the_batches(
        stage: str, subscribers: list[Subscription]) -> None:
    probe = Components(settings_from_environment({**os.environ, "NETWEAVE_STAGE": stage}))
    url = probe.queue_url(resources.DELIVERIES)
    prefix = url[: -len(probe.settings.queue_name(resources.DELIVERIES))]
    parts = Components(settings_from_environment({**os.environ, "NETWEAVE_STAGE": stage,
                                                  "NETWEAVE_QUEUE_URL_PREFIX": prefix}))
    counter = AwsRequestCounter().attach(parts.clients.sqs, parts.clients.dynamodb)
    drain(parts)
    counter.reset()

    assert fan_out_batch(pool_changed(), parts) == {"batchItemFailures": []}

    assert counter.of("sqs") == counter.of("sqs", "SendMessageBatch") == SUBSCRIBERS // 10  # no GetQueueUrl
    assert len(drain(parts)) == SUBSCRIBERS


def test_the_next_event_while_the_list_is_cached_reads_no_subscriptions_and_sends_only_full_batches(
        container: tuple[Components, AwsRequestCounter], subscribers: list[Subscription]) -> None:
    parts, counter = container
    drain(parts)
    fan_out_batch(pool_changed(), parts)
    counter.reset()

    fan_out_batch(pool_changed(), parts)

    assert dict(counter.counts) == {("sqs", "SendMessageBatch"): SUBSCRIBERS // 10}
    assert len(drain(parts)) == 2 * SUBSCRIBERS


def test_a_batch_of_events_keeps_each_subscribers_notifications_in_order_in_full_batches(
        container: tuple[Components, AwsRequestCounter], subscribers: list[Subscription]) -> None:
    """Three events in one batch: 300 notifications, 30 requests, and each subscriber's three in event order."""
    parts, counter = container
    drain(parts)
    records = [pool_changed()["Records"][0] for _ in range(3)]
    event_ids = [json.loads(r["body"])["eventId"] for r in records]

    fan_out_batch({"Records": records}, parts)

    assert counter.of("sqs", "SendMessageBatch") == 3 * SUBSCRIBERS // 10
    deliveries = drain(parts)
    assert len(deliveries) == 3 * SUBSCRIBERS
    for subscriber in subscribers[:10]:
        received = [d["eventId"] for d in deliveries if d["subscriptionId"] == subscriber.subscription_id]
        assert received == event_ids
