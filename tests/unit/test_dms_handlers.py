"""The `run_dms_operation` entry point: an operation that raises before its outcome is recorded is reported failed
and comes back sooner than the queue's long visibility timeout; one that ran is done."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any, cast

import pytest

from chalicelib import resources
from chalicelib.bootstrap import Components
from chalicelib.handlers import dms as dms_handlers


class RecordingSqs:
    def __init__(self) -> None:
        self.changed: list[dict[str, Any]] = []

    def change_message_visibility(self, **kwargs: Any) -> None:
        self.changed.append(kwargs)


class FakeComponents:
    """What the entry point uses of the composition root: the worker's ports, SQS and the queue's URL."""

    def __init__(self) -> None:
        self.clients = SimpleNamespace(sqs=RecordingSqs())

    def operation_ports(self) -> object:
        return object()

    def queue_url(self, queue: resources.Queue, dead_letter: bool = False) -> str:
        return f"url/{queue.logical_name}"


def record(message_id: str, operation_id: str, receives: int = 1) -> dict[str, Any]:
    return {"messageId": message_id, "receiptHandle": f"rh-{message_id}", "body": json.dumps(
        {"operationId": operation_id, "deploymentId": "dep-a"}),
        "attributes": {"MessageGroupId": "dep-a", "ApproximateReceiveCount": str(receives)}}


def run_one(monkeypatch: pytest.MonkeyPatch, message: dict[str, Any], outcome: str | Exception) \
        -> tuple[dict[str, Any], list[dict[str, Any]]]:
    def run(_ports: Any, operation_id: str) -> str:
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(dms_handlers, "run_operation", run)
    parts = FakeComponents()
    result = dms_handlers.run_operations_batch({"Records": [message]}, cast(Components, parts))
    return result, parts.clients.sqs.changed


def test_an_operation_that_could_not_be_recorded_comes_back_sooner_each_time(monkeypatch: pytest.MonkeyPatch) -> None:
    result, changed = run_one(monkeypatch, record("m1", "op-1", receives=2), ConnectionError("DynamoDB unreachable"))
    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert [(c["QueueUrl"], c["ReceiptHandle"], c["VisibilityTimeout"]) for c in changed] == [
        ("url/dms-operations", "rh-m1", 2 * dms_handlers.RETRY_BACKOFF_SECONDS)]


def test_an_operation_that_ran_is_done(monkeypatch: pytest.MonkeyPatch) -> None:
    result, changed = run_one(monkeypatch, record("m1", "op-1"), "failed")
    assert result == {"batchItemFailures": []} and changed == []
