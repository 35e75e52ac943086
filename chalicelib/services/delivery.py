"""Delivering one batch of the `deliveries` FIFO queue (the `deliver` function), each message POSTed to its SMO
(docs/architecture.md §4, §7).

Per outcome (decided by the pure `decide`):
- 2xx: delivered; 410: the subscription is disabled and the message finished;
- 429, 5xx, timeout, connection failure, no OAuth2 token: retried later — the message's visibility timeout is set to
  an exponential backoff with full jitter (5 s doubling up to 15 min, never shorter than the SMO's Retry-After,
  itself capped at 15 min) and the message is reported in `batchItemFailures`, until the retry horizon (24 h from
  the message's SentTimestamp) has passed: then it is dead-lettered;
- a 3xx (redirects are not followed), any other 4xx, a callback refused by the policy at send time, a malformed
  message: permanent — sent to the DLQ by us with the reason as message attributes, and the original deleted;
- a subscription that no longer exists or is disabled: dropped, not sent.
Every attempt and drop is recorded in the delivery log, and each batch emits how many messages ended with each
outcome as one EMF document (chalicelib/observability.py record_deliveries; the stack's alarms and dashboard read it).

Order per subscription: Lambda hands a FIFO batch in order per message group, and Powertools'
`SqsFifoPartialProcessor(skip_group_on_error=True)` reports every later message of a group that failed as failed
too, without attempting it, while other groups proceed. Those held-back messages get the same visibility timeout as
the failed one: SQS locks a group while any of its messages is in flight, so leaving them at the queue's default
would stretch a 5-second backoff to the default timeout.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import random
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NoReturn, Protocol

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import ValidationError

from chalicelib.adapters.store.delivery_log import Attempt
from chalicelib.adapters.webhooks.sender import SendResult
from chalicelib.domain.subscriptions import DeliveryMessage, Subscription, SubscriptionStatus
from chalicelib.observability import logger, record_deliveries


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    DISABLED = "disabled"
    DEAD = "dead"
    DROPPED = "dropped"


@dataclass(frozen=True)
class RetryPolicy:
    first_delay_seconds: float = 5.0
    max_delay_seconds: float = 15 * 60.0
    min_delay_seconds: float = 1.0  # full jitter may draw ~0; a floor keeps a failing SMO from a hot retry loop
    horizon_seconds: float = 24 * 3600.0


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: str | None = None
    delay_seconds: int = 0  # for RETRY: the visibility timeout to set


# ---- the pure decision ---------------------------------------------------------------------------------------

def decide(result: SendResult, attempt: int, age_seconds: float, policy: RetryPolicy, now: dt.datetime,
           rand: Callable[[], float] = random.random) -> Decision:
    """What to do after one attempt. `attempt` is 1 on the first; `age_seconds` is the time since the message was
    first queued (SQS SentTimestamp)."""
    if result.refused is not None:
        return Decision(Outcome.DEAD, f"refused: {result.refused}")
    if result.status is None:
        return _retry_or_dead(result.error or "no response", result, attempt, age_seconds, policy, now, rand)
    return _by_status(result.status, result, attempt, age_seconds, policy, now, rand)


def _by_status(status: int, result: SendResult, attempt: int, age_seconds: float, policy: RetryPolicy,
               now: dt.datetime, rand: Callable[[], float]) -> Decision:
    if 200 <= status < 300:
        return Decision(Outcome.DELIVERED)
    if status == 410:
        return Decision(Outcome.DISABLED, "callback answered 410 Gone")
    if status == 429 or status >= 500:
        return _retry_or_dead(f"callback answered {status}", result, attempt, age_seconds, policy, now, rand)
    redirect = ": redirects are not followed" if 300 <= status < 400 else ""
    return Decision(Outcome.DEAD, f"callback answered {status}{redirect}")


def _retry_or_dead(what: str, result: SendResult, attempt: int, age_seconds: float, policy: RetryPolicy,
                   now: dt.datetime, rand: Callable[[], float]) -> Decision:
    remaining = policy.horizon_seconds - age_seconds
    if remaining <= 0:
        return Decision(Outcome.DEAD, f"retry horizon of {int(policy.horizon_seconds)} s exceeded; last: {what}")
    delay = retry_delay(attempt, result.retry_after, policy, now, rand)
    # The last try happens at the horizon rather than one backoff after it.
    return Decision(Outcome.RETRY, what, math.ceil(min(delay, remaining)))


def backoff_ceiling(attempt: int, policy: RetryPolicy) -> float:
    exponent = min(max(attempt, 1) - 1, 40)  # 5 s * 2**40 is far beyond any cap; bounded so floats never overflow
    return min(policy.max_delay_seconds, policy.first_delay_seconds * 2.0**exponent)


def retry_delay(attempt: int, retry_after: str | None, policy: RetryPolicy, now: dt.datetime,
                rand: Callable[[], float] = random.random) -> float:
    """Full jitter (uniform in [0, ceiling], floored at the minimum). A Retry-After is honoured as a lower bound —
    the SMO said "not before" — but never beyond the maximum delay, so a huge value cannot stall a subscription."""
    delay = max(policy.min_delay_seconds, rand() * backoff_ceiling(attempt, policy))
    asked = retry_after_seconds(retry_after, now)
    if asked is not None:
        delay = max(delay, asked)
    return min(delay, policy.max_delay_seconds)


def retry_after_seconds(value: str | None, now: dt.datetime) -> float | None:
    """`Retry-After` as delta-seconds or an HTTP date (RFC 9110 §10.2.3); None when absent or unparsable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


# ---- ports ---------------------------------------------------------------------------------------------------

class SubscriptionLookup(Protocol):
    def get(self, subscription_id: str) -> Subscription | None: ...

    def set_status(self, subscription_id: str, status: SubscriptionStatus, reason: str) -> None: ...


class Sender(Protocol):
    def send(self, url: str, notification_id: str, payload: dict[str, Any], secret: str) -> SendResult: ...


class AttemptLog(Protocol):
    def record(self, attempt: Attempt) -> None: ...


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class DeliveryPorts:
    store: SubscriptionLookup
    sender: Sender
    sqs: Any
    queue_url: str
    dead_letter_url: str
    log: AttemptLog
    clock: Callable[[], dt.datetime] = utc_now
    random: Callable[[], float] = random.random
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    # Lambda's remaining time; a message is not started without `min_remaining_ms` left (two POSTs on a 401 retry).
    remaining_ms: Callable[[], int] | None = None
    min_remaining_ms: int = 25_000


# ---- the batch -----------------------------------------------------------------------------------------------

class _PutBack(Exception):
    """Not delivered yet: the message is reported failed and comes back after its visibility timeout."""


@dataclass
class _Batch:
    ports: DeliveryPorts
    group_delays: dict[str, int] = field(default_factory=dict)  # group -> visibility of its first failed message
    put_back: set[str] = field(default_factory=set)  # message ids whose visibility we already set
    outcomes: Counter[str] = field(default_factory=Counter)  # Outcome value -> messages, for the batch's metrics


def deliver_batch(event: dict[str, Any], ports: DeliveryPorts) -> dict[str, Any]:
    """The `deliver` handler body: returns `{"batchItemFailures": [{"itemIdentifier": messageId}, ...]}`."""
    batch = _Batch(ports)
    processor = SqsFifoPartialProcessor(skip_group_on_error=True)
    # All failed is a normal answer here (one subscriber down); Powertools would raise instead of reporting.
    processor.raise_on_entire_batch_failure = False

    def handle(record: SQSRecord) -> None:
        try:
            _deliver_record(record.raw_event, batch)
        except _PutBack:
            raise
        except Exception:
            logger.exception("delivery failed unexpectedly", extra={"messageId": record.message_id})
            batch.outcomes[Outcome.RETRY] += 1  # it comes back after the queue's visibility timeout
            raise

    response = dict(process_partial_response(event, handle, processor))
    _hold_back_followers(event, response, batch)
    record_deliveries(batch.outcomes)
    return response


def _deliver_record(raw: dict[str, Any], batch: _Batch) -> None:
    ports = batch.ports
    attributes = raw.get("attributes") or {}
    group = attributes.get("MessageGroupId") or ""
    if ports.remaining_ms is not None and ports.remaining_ms() < ports.min_remaining_ms:
        _put_back(raw, group, 0, batch)  # out of time: let it return at once for the next invocation
    try:
        message = DeliveryMessage.model_validate_json(raw["body"])
    except ValidationError:
        _dead_letter(raw, group, "malformed delivery message", None, ports)
        batch.outcomes[Outcome.DEAD] += 1
        return
    now = ports.clock()
    attempt = int(attributes.get("ApproximateReceiveCount") or 1)
    subscription = ports.store.get(message.subscription_id)
    if subscription is None or subscription.status is SubscriptionStatus.DISABLED:
        why = "subscription deleted" if subscription is None else "subscription disabled"
        ports.log.record(_attempt(message, attempt, Outcome.DROPPED, now, SendResult(), why))
        batch.outcomes[Outcome.DROPPED] += 1
        return
    result = ports.sender.send(subscription.callback, message.notification_id, message.payload, subscription.secret)
    decision = decide(result, attempt, _age_seconds(attributes, now), ports.policy, now, ports.random)
    _apply(decision, raw, group, message, attempt, result, now, batch)


def _apply(decision: Decision, raw: dict[str, Any], group: str, message: DeliveryMessage, attempt: int,
           result: SendResult, now: dt.datetime, batch: _Batch) -> None:
    ports = batch.ports
    ports.log.record(_attempt(message, attempt, decision.outcome, now, result, decision.reason))
    if decision.outcome is Outcome.RETRY:
        batch.outcomes[Outcome.RETRY] += 1
        _put_back(raw, group, decision.delay_seconds, batch)
    if decision.outcome is Outcome.DISABLED:
        ports.store.set_status(message.subscription_id, SubscriptionStatus.DISABLED, decision.reason or "gone")
        logger.info("subscription disabled by its SMO", extra={"subscription": message.subscription_id})
    elif decision.outcome is Outcome.DEAD:
        _dead_letter(raw, group or message.subscription_id, decision.reason or "failed", result.status, ports,
                     attempt, message)
    # Counted once done: a failure above is counted as a retry by the batch's handler (the message comes back).
    batch.outcomes[decision.outcome] += 1


def _put_back(raw: dict[str, Any], group: str, delay: int, batch: _Batch) -> NoReturn:
    batch.ports.sqs.change_message_visibility(QueueUrl=batch.ports.queue_url, ReceiptHandle=raw["receiptHandle"],
                                              VisibilityTimeout=delay)
    batch.group_delays.setdefault(group, delay)
    batch.put_back.add(raw["messageId"])
    raise _PutBack(f"retry in {delay} s")


def _hold_back_followers(event: dict[str, Any], response: dict[str, Any], batch: _Batch) -> None:
    """Give the messages held back behind a failed one of their group the same visibility timeout."""
    failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
    entries: list[dict[str, Any]] = []
    for raw in event.get("Records", []):
        group = (raw.get("attributes") or {}).get("MessageGroupId") or ""
        if raw["messageId"] in failed and raw["messageId"] not in batch.put_back and group in batch.group_delays:
            entries.append({"Id": str(len(entries)), "ReceiptHandle": raw["receiptHandle"],
                            "VisibilityTimeout": batch.group_delays[group]})
    for start in range(0, len(entries), 10):
        reply = batch.ports.sqs.change_message_visibility_batch(QueueUrl=batch.ports.queue_url,
                                                                Entries=entries[start:start + 10])
        if reply.get("Failed"):
            # Harmless: the message returns after the queue's default visibility timeout instead.
            logger.warning("could not hold back messages", extra={"failed": len(reply["Failed"])})


def _dead_letter(raw: dict[str, Any], group: str, reason: str, status: int | None, ports: DeliveryPorts,
                 attempt: int = 0, message: DeliveryMessage | None = None) -> None:
    """To the DLQ with the reason, then delete the original (deleting it ourselves means a function that times out
    later in the batch cannot have it dead-lettered twice)."""
    notification = message.notification_id if message else raw["messageId"]
    attributes = {"reason": reason[:500], "status": str(status or ""), "attempts": str(attempt),
                  "subscriptionId": message.subscription_id if message else group,
                  "notificationId": notification}
    ports.sqs.send_message(
        QueueUrl=ports.dead_letter_url, MessageBody=raw["body"], MessageGroupId=group or "unknown",
        # A fresh suffix: a notification replayed and dead again within five minutes must not be deduplicated away.
        MessageDeduplicationId=f"{notification[:80]}.dead.{uuid.uuid4().hex}",
        MessageAttributes={k: {"DataType": "String", "StringValue": v or "-"} for k, v in attributes.items()},
    )
    ports.sqs.delete_message(QueueUrl=ports.queue_url, ReceiptHandle=raw["receiptHandle"])
    logger.warning("notification dead-lettered", extra={"notification": notification, "reason": reason})


def _age_seconds(attributes: dict[str, Any], now: dt.datetime) -> float:
    sent = attributes.get("SentTimestamp")
    return max(0.0, now.timestamp() - int(sent) / 1000) if sent else 0.0


def _attempt(message: DeliveryMessage, attempt: int, outcome: Outcome, now: dt.datetime, result: SendResult,
             reason: str | None) -> Attempt:
    error = result.error or result.refused or (reason if outcome is not Outcome.DELIVERED else None)
    return Attempt(message.subscription_id, message.notification_id, attempt, outcome.value, now,
                   result.status, error, result.duration_ms)
