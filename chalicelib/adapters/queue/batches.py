"""Sending SQS messages in batches within SQS's limits (10 messages, 256 KiB), failing loudly on any refusal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from chalicelib.domain.errors import BackendUnavailable

MAX_BATCH_MESSAGES = 10
MAX_BATCH_BYTES = 240 * 1024  # SQS allows 256 KiB per batch; keep room for attributes


def send_all(client: Any, queue_url: str, entries: list[dict[str, Any]]) -> int:
    """Send every entry or raise, so a caller never commits work whose message was not sent."""
    sent = 0
    for batch in _batches(entries):
        numbered = [{**entry, "Id": str(index)} for index, entry in enumerate(batch)]
        reply = client.send_message_batch(QueueUrl=queue_url, Entries=numbered)
        if reply.get("Failed"):
            reasons = "; ".join(f"{f['Id']}: {f.get('Message', f.get('Code'))}" for f in reply["Failed"])
            raise BackendUnavailable(f"SQS refused messages: {reasons}")
        sent += len(batch)
    return sent


def _batches(entries: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    size = 0
    for entry in entries:
        entry_size = len(entry["MessageBody"].encode())
        if batch and (len(batch) == MAX_BATCH_MESSAGES or size + entry_size > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(entry)
        size += entry_size
    if batch:
        yield batch
