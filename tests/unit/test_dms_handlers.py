"""The `run_dms_operation` batch handler: per-message failures, group order, and a retry sooner than the queue's long
visibility timeout."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import config, dms_handlers


class RecordingSqs:
    def __init__(self) -> None:
        self.changed: list[dict[str, Any]] = []

    def change_message_visibility(self, **kwargs: Any) -> None:
        self.changed.append(kwargs)


def record(message_id: str, operation_id: str, group: str, receives: int = 1) -> dict[str, Any]:
    return {"messageId": message_id, "receiptHandle": f"rh-{message_id}", "body": json.dumps(
        {"operationId": operation_id, "deploymentId": group}),
        "attributes": {"MessageGroupId": group, "ApproximateReceiveCount": str(receives)}}


@pytest.fixture()
def sqs(monkeypatch: pytest.MonkeyPatch) -> RecordingSqs:
    fake = RecordingSqs()
    monkeypatch.setattr(config, "sqs", lambda: fake)
    monkeypatch.setattr(config, "queue_url", lambda logical, dead_letter=False: f"url/{logical}")
    monkeypatch.setattr(dms_handlers, "operation_ports", lambda: None)
    return fake


def test_a_failed_operation_and_the_later_ones_of_its_deployment_come_back_soon(
        sqs: RecordingSqs, monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []

    def run(_ports: Any, operation_id: str) -> str:
        ran.append(operation_id)
        if operation_id == "op-1":
            raise RuntimeError("backend unavailable")
        return "succeeded"

    monkeypatch.setattr(dms_handlers, "run_operation", run)
    result = dms_handlers.run_operations_batch({"Records": [
        record("m1", "op-1", "dep-a", receives=2), record("m2", "op-2", "dep-a"), record("m3", "op-3", "dep-b")]})
    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]}
    assert ran == ["op-1", "op-3"]  # op-2 waits behind op-1 of the same deployment
    assert [(c["ReceiptHandle"], c["VisibilityTimeout"]) for c in sqs.changed] == [
        ("rh-m1", 2 * dms_handlers.RETRY_BACKOFF_SECONDS), ("rh-m2", dms_handlers.RETRY_BACKOFF_SECONDS)]
    assert {c["QueueUrl"] for c in sqs.changed} == {"url/dms-operations"}
