"""The local stack's moto reads its SQS clock and attributes faster (devtools/moto_aws.py, `patch_sqs_scans`); what
the netweave pump and handlers see of a queue stays what moto — and SQS — answers: counts of waiting, in-flight and
delayed messages, FIFO deduplication and message groups, and messages past their retention period gone."""

from __future__ import annotations

import uuid
from typing import Any, cast

import boto3
import pytest
from moto.sqs.models import sqs_backends

from devtools.moto_aws import patch_sqs_scans


@pytest.fixture()
def sqs(moto_url: str) -> Any:
    patch_sqs_scans()  # the in-process moto server of the functional tests now runs the stack's code
    return boto3.client("sqs")


def counts(sqs: Any, url: str) -> tuple[int, int, int]:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
             "ApproximateNumberOfMessagesDelayed"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return int(attributes[names[0]]), int(attributes[names[1]]), int(attributes[names[2]])


def test_waiting_in_flight_and_delayed_messages_are_counted_apart(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=f"counts-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=str(n))
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=600)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=600)
    assert [m["Body"] for m in got["Messages"]] == ["0"]
    assert counts(sqs, url) == (2, 1, 1)


def test_a_fifo_queue_drops_a_duplicate_and_holds_back_a_group_in_flight(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=f"groups-{uuid.uuid4().hex[:8]}.fifo",
                           Attributes={"FifoQueue": "true"})["QueueUrl"]
    for body, group, dedup in (("a1", "a", "1"), ("a1 again", "a", "1"), ("a2", "a", "2"), ("b1", "b", "3")):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group,
                         MessageDeduplicationId=dedup)
    assert counts(sqs, url) == (3, 0, 0)
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
    second = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in first] == ["a1"]
    assert [m["Body"] for m in second] == ["b1"]  # a2 waits until a1 is deleted or comes back


def test_a_message_past_the_retention_period_is_never_received(sqs: Any) -> None:
    name = f"retention-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name, Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="old")
    [queue] = [q for _, _, backend in sqs_backends.iter_backends() for q in cast(Any, backend).queues.values()
               if q.name == name]
    [old] = queue._messages
    old.sent_timestamp -= 61_000  # sent 61 s before it was: a minute's retention is over (moto has no clock to move)
    assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
