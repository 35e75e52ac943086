"""Sending SQS messages in batches within SQS's limits (10 messages, 256 KiB), failing loudly on any refusal."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

from chalicelib.domain.errors import BackendUnavailable

MAX_BATCH_MESSAGES = 10
MAX_BATCH_BYTES = 240 * 1024  # SQS allows 256 KiB per batch; keep room for attributes


LANES = 8  # concurrent senders; SQS answers each batch in tens of milliseconds, so a fan-out to 1,000 is IO-bound


def send_all(client: Any, queue_url: str, entries: list[dict[str, Any]]) -> int:
    """Send every entry or raise, so a caller never commits work whose message was not sent.

    Entries are spread over a few lanes sent concurrently; all entries of one message group go to the same lane, in
    their original order, so FIFO order within a group is kept."""
    lanes: list[list[dict[str, Any]]] = [[] for _ in range(LANES)]
    for entry in entries:
        lanes[zlib.crc32(entry.get("MessageGroupId", "").encode()) % LANES].append(entry)
    busy = [lane for lane in lanes if lane]
    if len(busy) <= 1:
        return sum(_send_lane(client, queue_url, lane) for lane in busy)
    from concurrent.futures import ThreadPoolExecutor  # senders only: the API function never sends

    with ThreadPoolExecutor(max_workers=len(busy)) as pool:
        return sum(pool.map(lambda lane: _send_lane(client, queue_url, lane), busy))


def _send_lane(client: Any, queue_url: str, entries: list[dict[str, Any]]) -> int:
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
