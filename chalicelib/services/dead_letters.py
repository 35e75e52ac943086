"""Operator tools for the `deliveries` dead-letter queue: look at what is there, and send it back for delivery.

Both return plain data (lists and dicts of JSON types), for the CLI (`python -m devtools.deliveries`) and for an
operator HTTP endpoint.

SQS has no "peek": `list_dead` receives with a short visibility timeout and makes what it saw visible again at
once. The DLQ is a FIFO queue grouped by subscription, and SQS returns no further message of a group while one of
it is in flight, so a listing shows up to the first ten dead notifications of each subscription; `replay` deletes
what it moves, so replaying everything reaches every message.

Replayed messages keep their message group (the subscription) and get a fresh deduplication id, since a
notification that went dead within the last five minutes would otherwise be dropped by SQS FIFO deduplication.
They join the end of their subscription's queue, behind newer notifications: the SMO orders by the states the
notifications carry and deduplicates by `notificationId`.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters.queue.batches import send_all

_PEEK_SECONDS = 30  # long enough to page through a listing, short if the process dies before releasing
_REPLAY_SECONDS = 60


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    notification_id: str
    subscription_id: str
    reason: str
    status: str
    attempts: str
    age_seconds: int  # since it was dead-lettered

    def to_plain(self) -> dict[str, Any]:
        return {"notificationId": self.notification_id, "subscriptionId": self.subscription_id,
                "reason": self.reason, "status": self.status, "attempts": self.attempts,
                "ageSeconds": self.age_seconds, "messageId": self.message_id}


def list_dead(sqs: Any, dead_letter_url: str, limit: int = 50,
              now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
              wait_seconds: int = 1) -> list[dict[str, Any]]:
    """Up to `limit` dead notifications, oldest first within each subscription. `wait_seconds` is the long poll:
    a short poll of a nearly empty SQS queue may answer "nothing" although there is something."""
    seen: list[dict[str, Any]] = []
    try:
        while len(seen) < limit:
            messages = _receive(sqs, dead_letter_url, min(10, limit - len(seen)), _PEEK_SECONDS, wait_seconds)
            if not messages:
                break
            seen.extend(messages)
    finally:
        _release(sqs, dead_letter_url, seen)
    return [describe(message, now()).to_plain() for message in seen]


def replay(sqs: Any, dead_letter_url: str, queue_url: str, notification_ids: Collection[str] | None = None,
           progress: Callable[[int], None] | None = None, wait_seconds: int = 1) -> dict[str, Any]:
    """Move dead notifications back to `deliveries`: those named, or all when `notification_ids` is None."""
    wanted = set(notification_ids) if notification_ids is not None else None
    replayed: list[str] = []
    held: list[dict[str, Any]] = []  # received but not asked for: visible again at the end
    try:
        while wanted is None or wanted:
            messages = _receive(sqs, dead_letter_url, 10, _REPLAY_SECONDS, wait_seconds)
            if not messages:
                break
            chosen = [m for m in messages if wanted is None or _notification_id(m) in wanted]
            held.extend(m for m in messages if m not in chosen)
            _move(sqs, dead_letter_url, queue_url, chosen)
            replayed.extend(_notification_id(m) for m in chosen)
            if wanted is not None:
                wanted.difference_update(replayed)
            if progress and chosen:
                progress(len(replayed))
    finally:
        _release(sqs, dead_letter_url, held)
    return {"replayed": replayed, "notFound": sorted(wanted or ())}


def describe(message: dict[str, Any], now: dt.datetime) -> DeadLetter:
    """Our own dead letters carry attributes; ones SQS redrove itself (after maxReceiveCount) only the body."""
    attributes = {k: v.get("StringValue", "") for k, v in (message.get("MessageAttributes") or {}).items()}
    system = message.get("Attributes") or {}
    body = _body(message)
    sent = int(system.get("SentTimestamp") or 0) / 1000
    return DeadLetter(
        message_id=message["MessageId"],
        notification_id=_notification_id(message),
        subscription_id=attributes.get("subscriptionId") or str(body.get("subscriptionId") or
                                                                system.get("MessageGroupId", "")),
        reason=attributes.get("reason") or "redriven by SQS after too many receives",
        status=attributes.get("status", "-"),
        attempts=attributes.get("attempts", "-"),
        age_seconds=int(max(0.0, now.timestamp() - sent)) if sent else 0,
    )


def _receive(sqs: Any, url: str, count: int, visibility: int, wait_seconds: int) -> list[dict[str, Any]]:
    reply = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=count, VisibilityTimeout=visibility,
                                WaitTimeSeconds=wait_seconds, MessageSystemAttributeNames=["All"],
                                MessageAttributeNames=["All"])
    messages: list[dict[str, Any]] = reply.get("Messages", [])
    return messages


def _move(sqs: Any, dead_letter_url: str, queue_url: str, messages: list[dict[str, Any]]) -> None:
    if not messages:
        return
    entries = [{"MessageBody": m["Body"], "MessageGroupId": _group(m),
                "MessageDeduplicationId": f"{_notification_id(m)[:80]}.replay.{uuid.uuid4().hex}"} for m in messages]
    send_all(sqs, queue_url, entries)  # raises unless every one was sent: only then are they deleted
    sqs.delete_message_batch(QueueUrl=dead_letter_url, Entries=[
        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])


def _release(sqs: Any, url: str, messages: list[dict[str, Any]]) -> None:
    for start in range(0, len(messages), 10):
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
            for i, m in enumerate(messages[start:start + 10])])


def _body(message: dict[str, Any]) -> dict[str, Any]:
    try:
        body = json.loads(message.get("Body") or "{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _notification_id(message: dict[str, Any]) -> str:
    attribute = (message.get("MessageAttributes") or {}).get("notificationId", {}).get("StringValue")
    return str(attribute or _body(message).get("notificationId") or message["MessageId"])


def _group(message: dict[str, Any]) -> str:
    system = message.get("Attributes") or {}
    return str(system.get("MessageGroupId") or _body(message).get("subscriptionId") or "unknown")
