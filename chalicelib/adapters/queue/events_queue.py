"""Publishing change events to the `events` FIFO queue, and notifications to the `deliveries` FIFO queue."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.adapters.queue.batches import send_all
from chalicelib.domain.events import ChangeEvent
from chalicelib.domain.subscriptions import DeliveryMessage


def _compact(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


class SqsEventPublisher:
    def __init__(self, client: Any, queue_url: str) -> None:
        self.client = client
        self.queue_url = queue_url

    def publish(self, events: list[ChangeEvent]) -> int:
        """One message group per source and backend keeps each backend's changes in order; the event id is the
        deduplication id, so a change re-published within SQS's five-minute window is dropped by SQS itself."""
        entries = [{"MessageBody": _compact(e.to_wire()), "MessageGroupId": f"{e.source.value}:{e.backend}",
                    "MessageDeduplicationId": e.event_id} for e in events]
        return send_all(self.client, self.queue_url, entries)


class SqsDeliveryQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self.client = client
        self.queue_url = queue_url

    def enqueue(self, deliveries: list[DeliveryMessage]) -> int:
        """One message group per subscription: its notifications arrive in order, and a failing subscriber holds
        back only its own (docs/architecture.md §4). The notification id deduplicates re-fanned events."""
        entries = [{"MessageBody": _compact(d.to_wire()), "MessageGroupId": d.subscription_id,
                    "MessageDeduplicationId": d.notification_id} for d in deliveries]
        return send_all(self.client, self.queue_url, entries)


class SqsOperationQueue:
    """The `dms-operations` FIFO queue: one message per operation, grouped by deployment, so one deployment's
    operations run in order while different deployments run in parallel."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self.client = client
        self.queue_url = queue_url

    def submit(self, deployment_id: str, operation_id: str, deduplication_suffix: str = "") -> None:
        """The operation id deduplicates: the same operation submitted twice within SQS's window is one message.
        A resubmission of a lost message passes a suffix to get through."""
        self.client.send_message(
            QueueUrl=self.queue_url,
            MessageBody=_compact({"operationId": operation_id, "deploymentId": deployment_id}),
            MessageGroupId=deployment_id,
            MessageDeduplicationId=operation_id + deduplication_suffix,
        )
