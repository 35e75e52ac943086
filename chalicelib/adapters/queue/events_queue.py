"""Publishing change events to the `events` FIFO queue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from chalicelib.domain.errors import BackendUnavailable
from chalicelib.domain.events import ChangeEvent

_MAX_BATCH_MESSAGES = 10
_MAX_BATCH_BYTES = 240 * 1024  # SQS allows 256 KiB per batch; keep room for attributes


class SqsEventPublisher:
    def __init__(self, client: Any, queue_url: str) -> None:
        self.client = client
        self.queue_url = queue_url

    def publish(self, events: list[ChangeEvent]) -> int:
        """Send every event or raise: a poll must not commit a change whose event was not sent.

        One message group per backend keeps each backend's changes in order; the event id is the deduplication id,
        so a change re-published within SQS's five-minute window is dropped by SQS itself."""
        sent = 0
        for batch in _batches(events):
            reply = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=batch)
            if reply.get("Failed"):
                reasons = "; ".join(f"{f['Id']}: {f.get('Message', f.get('Code'))}" for f in reply["Failed"])
                raise BackendUnavailable(f"could not publish change events: {reasons}")
            sent += len(batch)
        return sent


def _entry(index: int, event: ChangeEvent) -> dict[str, Any]:
    return {
        "Id": str(index),
        "MessageBody": json.dumps(event.to_wire(), separators=(",", ":"), ensure_ascii=False),
        "MessageGroupId": f"{event.source.value}:{event.backend}",
        "MessageDeduplicationId": event.event_id,
    }


def _batches(events: list[ChangeEvent]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    size = 0
    for index, event in enumerate(events):
        entry = _entry(index, event)
        entry_size = len(entry["MessageBody"].encode())
        if batch and (len(batch) == _MAX_BATCH_MESSAGES or size + entry_size > _MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(entry)
        size += entry_size
    if batch:
        yield batch
