"""send_all: as few SendMessageBatch requests as SQS's limits allow (10 messages, 256 KiB), every message sent once,
each FIFO group's messages in their original order, and a refusal raised rather than swallowed."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from chalicelib.adapters.queue.batches import MAX_BATCH_BYTES, send_all
from chalicelib.domain.errors import BackendUnavailable


class Sqs:
    """Records each SendMessageBatch (SQS keeps a batch's messages in order); refuses messages whose body says so."""

    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self._lock = threading.Lock()

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        assert len(Entries) <= 10 and sum(len(e["MessageBody"].encode()) for e in Entries) <= 256 * 1024
        assert len({e["Id"] for e in Entries}) == len(Entries)
        with self._lock:
            self.batches.append(Entries)
        failed = [{"Id": e["Id"], "Code": "InvalidMessageContents"} for e in Entries if e["MessageBody"] == "bad"]
        return {"Successful": [], "Failed": failed}

    def bodies_of(self, group: str) -> list[str]:
        return [e["MessageBody"] for batch in self.batches for e in batch if e["MessageGroupId"] == group]


def entry(group: str, body: str) -> dict[str, Any]:
    return {"MessageBody": body, "MessageGroupId": group, "MessageDeduplicationId": f"{group}/{body}"}


def test_one_message_per_group_for_a_thousand_groups_goes_out_in_a_hundred_full_batches() -> None:
    sqs = Sqs()
    assert send_all(sqs, "q", [entry(f"sub-{n}", f"n-{n}") for n in range(1000)]) == 1000
    assert [len(batch) for batch in sqs.batches] == [10] * 100
    assert sorted(e["MessageBody"] for batch in sqs.batches for e in batch) == sorted(f"n-{n}" for n in range(1000))


def test_interleaved_groups_keep_their_own_order_and_still_fill_their_batches() -> None:
    """Events one after another, each to the same 7 subscribers: a group's messages span batch boundaries."""
    sqs = Sqs()
    entries = [entry(f"sub-{s}", f"event-{e}") for e in range(20) for s in range(7)]
    assert send_all(sqs, "q", entries) == 140
    assert len(sqs.batches) == 14
    for s in range(7):
        assert sqs.bodies_of(f"sub-{s}") == [f"event-{e}" for e in range(20)]


def test_large_messages_split_batches_by_size() -> None:
    sqs = Sqs()
    big = "x" * (MAX_BATCH_BYTES // 3 + 1)
    assert send_all(sqs, "q", [entry(f"g{n}", big + str(n)) for n in range(6)]) == 6
    assert [len(batch) for batch in sqs.batches] == [2, 2, 2]


def test_a_refused_message_raises_naming_why() -> None:
    with pytest.raises(BackendUnavailable, match="InvalidMessageContents"):
        send_all(Sqs(), "q", [entry(f"g{n}", "bad" if n == 13 else "ok") for n in range(30)])
