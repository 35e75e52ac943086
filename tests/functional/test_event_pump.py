"""The local event pump drives scheduled and SQS handlers as Lambda does, against a real (moto) SQS."""

from __future__ import annotations

import json
import threading
import types
import uuid
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from chalice import Chalice, Rate

from devtools.localstack.pump import EventPump
from tests.waiting import wait_until

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageTypeDef


def build_app(queue_name: str) -> tuple[types.ModuleType, list[Any]]:
    """A tiny app with the two kinds of event source the pump serves; it records what Lambda would hand it."""
    seen: list[Any] = []
    app = Chalice(app_name="pump-under-test")

    # Chalice ships no types: its decorators make the handlers untyped, as in app.py.
    @app.schedule(Rate(1, unit=Rate.MINUTES))  # type: ignore[untyped-decorator]
    def tick(event: Any) -> None:
        seen.append(("tick", event.to_dict()["detail-type"]))

    @app.on_sqs_message(queue=queue_name, batch_size=10)  # type: ignore[untyped-decorator]
    def consume(event: Any) -> dict[str, Any]:
        failures = []
        for record in event:
            payload = json.loads(record.body)
            if payload.get("fail"):
                failures.append({"itemIdentifier": record.to_dict()["messageId"]})
            else:
                seen.append(("message", payload["n"], record.to_dict()["attributes"].get("MessageGroupId")))
        return {"batchItemFailures": failures}

    module = types.ModuleType("pump_test_app")
    module.app, module.tick, module.consume = app, tick, consume  # type: ignore[attr-defined]
    return module, seen


@pytest.fixture()
def queue(moto_url: str, request: pytest.FixtureRequest) -> str:
    name = f"pump-{request.node.name[:40]}.fifo".replace("[", "-").replace("]", "")
    boto3.client("sqs").create_queue(
        QueueName=name, Attributes={"FifoQueue": "true", "VisibilityTimeout": "1", "ContentBasedDeduplication": "true"}
    )
    return name


def in_queue(url: str) -> tuple[int, int]:
    """(messages waiting, messages received and not yet deleted or back)."""
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def received(url: str) -> list[MessageTypeDef]:
    """Whatever is visible now (a short poll), as the next receiver gets it."""
    messages: list[MessageTypeDef] = boto3.client("sqs").receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, MessageSystemAttributeNames=["ApproximateReceiveCount"]
    ).get("Messages", [])
    return messages


def test_scheduled_handlers_receive_a_scheduled_event(queue: str) -> None:
    module, seen = build_app(queue)
    EventPump(module, boto3.session.Session(), interval=60).run_schedules_once()
    assert seen == [("tick", "Scheduled Event")]


def test_messages_reach_the_handler_in_order_and_successes_are_deleted(queue: str) -> None:
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": n}), MessageGroupId="sub-1")
    module, seen = build_app(queue)
    pump = EventPump(module, boto3.session.Session(), interval=60)
    source = pump.queues[0]
    assert pump.drain_once(source) == 3
    assert seen == [("message", 0, "sub-1"), ("message", 1, "sub-1"), ("message", 2, "sub-1")]
    assert in_queue(url) == (0, 0)  # deleted: none waits, none is in flight to come back


def test_reported_failures_come_back_and_the_rest_do_not(queue: str) -> None:
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": 1}), MessageGroupId="a")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": 2, "fail": True}), MessageGroupId="b")
    module, seen = build_app(queue)
    pump = EventPump(module, boto3.session.Session(), interval=60)
    source = pump.queues[0]
    assert pump.drain_once(source) == 2
    # the other was deleted; the failed one was not (in flight, or back already if this machine took over the
    # queue's 1 s visibility timeout to get here: either way it is left for a retry)
    assert sum(in_queue(url)) == 1
    again = wait_until(lambda: received(url), 10, what="the failed message back after its visibility timeout")
    assert [json.loads(m["Body"])["n"] for m in again] == [2]
    assert seen == [("message", 1, "a")]


def test_a_handler_that_raises_leaves_the_whole_batch_for_retry(queue: str) -> None:
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="not json", MessageGroupId="a")
    module, _ = build_app(queue)
    pump = EventPump(module, boto3.session.Session(), interval=60)
    assert pump.drain_once(pump.queues[0]) == 1
    assert sum(in_queue(url)) == 1  # not deleted: in flight, or back after the 1 s visibility timeout
    again = wait_until(lambda: received(url), 10, what="the batch back after its visibility timeout")
    assert [m["Body"] for m in again] == ["not json"]
    assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"


def test_message_groups_are_handled_in_parallel_each_in_order(moto_url: str) -> None:
    """Lambda runs batches of different message groups of a FIFO queue at once (up to the source's maximum
    concurrency) and one group's batches one after another: group b is handled while a batch of group a is still
    running, and group a's messages arrive in the order they were sent."""
    sqs = boto3.client("sqs")
    name = f"pump-parallel-{uuid.uuid4().hex[:8]}.fifo"
    url = sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true", "VisibilityTimeout": "60",
                                                       "ContentBasedDeduplication": "true"})["QueueUrl"]
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": n}), MessageGroupId="a")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": 0, "of": "b"}), MessageGroupId="b")
    b_handled = threading.Event()
    seen: list[tuple[str, int]] = []
    app = Chalice(app_name="pump-parallel")

    @app.on_sqs_message(queue=name, batch_size=1, maximum_concurrency=2)  # type: ignore[untyped-decorator]
    def consume(event: Any) -> dict[str, Any]:
        for record in event:
            group, n = record.to_dict()["attributes"]["MessageGroupId"], json.loads(record.body)["n"]
            if (group, n) == ("a", 0):
                b_handled.wait(60)  # a hang guard: group b's batch runs beside this one and sets it
                seen.append(("b handled while a0 ran", int(b_handled.is_set())))
            seen.append((group, n))
            if group == "b":
                b_handled.set()
        return {"batchItemFailures": []}

    module = types.ModuleType("pump_parallel_app")
    module.app, module.consume = app, consume  # type: ignore[attr-defined]
    pump = EventPump(module, boto3.session.Session(), interval=60)
    pump.start()
    try:
        wait_until(lambda: len([s for s in seen if s[0] in ("a", "b")]) == 4, 90, what="every message handled")
    finally:
        pump.stop()
    assert ("b handled while a0 ran", 1) in seen
    assert [n for group, n in seen if group == "a"] == [0, 1, 2]
    assert in_queue(url) == (0, 0)
