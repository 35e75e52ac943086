"""The delivery decision (pure) and the batch handling around it, with fakes: no network, no AWS."""

from __future__ import annotations

import base64
import datetime as dt
import json
from email.utils import format_datetime
from typing import Any

import pytest
from standardwebhooks import Webhook

from chalicelib.adapters.store.delivery_log import Attempt
from chalicelib.adapters.webhooks.sender import SecretUnusable, SendResult, sign
from chalicelib.domain.subscriptions import DeliveryMessage, Subscription, SubscriptionKind, SubscriptionStatus
from chalicelib.services.delivery import (
    DeliveryPorts,
    Outcome,
    RetryPolicy,
    backoff_ceiling,
    decide,
    deliver_batch,
    retry_after_seconds,
    retry_delay,
)

NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
POLICY = RetryPolicy()


def at_status(status: int, retry_after: str | None = None) -> SendResult:
    return SendResult(status=status, retry_after=retry_after)


def decided(result: SendResult, attempt: int = 1, age: float = 0.0, rand: float = 0.5) -> Any:
    return decide(result, attempt, age, POLICY, NOW, lambda: rand)


# ---- status classes ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_2xx_is_delivered(status: int) -> None:
    assert decided(at_status(status)).outcome is Outcome.DELIVERED


def test_410_disables_the_subscription() -> None:
    decision = decided(at_status(410))
    assert decision.outcome is Outcome.DISABLED
    assert "410" in decision.reason


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504, 599])
def test_429_and_5xx_are_retried(status: int) -> None:
    decision = decided(at_status(status))
    assert decision.outcome is Outcome.RETRY
    assert str(status) in decision.reason
    assert decision.delay_seconds >= 1


@pytest.mark.parametrize("error", ["timeout (ReadTimeout)", "ConnectError: [Errno 111] Connection refused",
                                   "token endpoint answered 503"])
def test_no_response_is_retried(error: str) -> None:
    decision = decided(SendResult(error=error))
    assert decision.outcome is Outcome.RETRY
    assert decision.reason == error


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_permanent_failures(status: int) -> None:
    decision = decided(at_status(status))
    assert decision.outcome is Outcome.DEAD
    assert "redirects are not followed" in decision.reason


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 413, 422])
def test_other_4xx_are_permanent_failures(status: int) -> None:
    decision = decided(at_status(status))
    assert decision.outcome is Outcome.DEAD
    assert decision.reason == f"callback answered {status}"


def test_a_refused_callback_is_a_permanent_failure() -> None:
    decision = decided(SendResult(refused="callback: 'x' resolves to a cloud metadata address"))
    assert decision.outcome is Outcome.DEAD
    assert decision.reason.startswith("refused: ")


# ---- backoff, jitter, Retry-After, horizon -------------------------------------------------------------------

def test_backoff_ceiling_doubles_from_5_s_up_to_15_min() -> None:
    assert [backoff_ceiling(n, POLICY) for n in range(1, 10)] == [5, 10, 20, 40, 80, 160, 320, 640, 900]
    assert backoff_ceiling(1000, POLICY) == 900  # no overflow however many receives


@pytest.mark.parametrize("attempt", [1, 2, 5, 8, 50])
@pytest.mark.parametrize("rand", [0.0, 0.01, 0.3, 0.999999, 1.0])
def test_full_jitter_stays_between_the_floor_and_the_ceiling(attempt: int, rand: float) -> None:
    delay = retry_delay(attempt, None, POLICY, NOW, lambda: rand)
    assert POLICY.min_delay_seconds <= delay <= backoff_ceiling(attempt, POLICY)
    assert delay == max(1.0, rand * backoff_ceiling(attempt, POLICY))


def test_the_visibility_timeout_is_whole_seconds_rounded_up() -> None:
    assert decided(at_status(503), attempt=3, rand=0.51).delay_seconds == 11  # 0.51 * 20 = 10.2


def test_retry_after_in_seconds_and_as_an_http_date() -> None:
    assert retry_after_seconds("120", NOW) == 120
    assert retry_after_seconds(" 7 ", NOW) == 7
    assert retry_after_seconds(format_datetime(NOW + dt.timedelta(seconds=90), usegmt=True), NOW) == 90
    assert retry_after_seconds(format_datetime(NOW - dt.timedelta(hours=1), usegmt=True), NOW) == 0
    for unusable in (None, "", "soon", "-5", "1.5"):
        assert retry_after_seconds(unusable, NOW) is None


def test_retry_after_is_a_lower_bound_on_the_delay() -> None:
    assert decided(at_status(429, "120"), attempt=1, rand=1.0).delay_seconds == 120
    date = format_datetime(NOW + dt.timedelta(seconds=300), usegmt=True)
    assert decided(at_status(503, date), attempt=1, rand=1.0).delay_seconds == 300


def test_a_short_retry_after_does_not_shorten_the_backoff() -> None:
    assert decided(at_status(429, "1"), attempt=6, rand=1.0).delay_seconds == 160


def test_retry_after_is_capped_at_15_minutes() -> None:
    assert decided(at_status(429, "86400"), rand=0.0).delay_seconds == 900


def test_unparsable_retry_after_falls_back_to_backoff() -> None:
    assert decided(at_status(503, "tomorrow-ish"), attempt=2, rand=1.0).delay_seconds == 10


def test_past_the_horizon_a_retryable_failure_is_dead() -> None:
    decision = decided(at_status(503), age=POLICY.horizon_seconds)
    assert decision.outcome is Outcome.DEAD
    assert "retry horizon" in decision.reason and "503" in decision.reason
    assert decided(SendResult(error="timeout"), age=POLICY.horizon_seconds + 1).outcome is Outcome.DEAD


def test_the_last_retry_is_scheduled_at_the_horizon_not_after_it() -> None:
    decision = decided(at_status(503), attempt=20, age=POLICY.horizon_seconds - 30, rand=1.0)
    assert decision.outcome is Outcome.RETRY
    assert decision.delay_seconds == 30


def test_permanent_failures_do_not_wait_for_the_horizon() -> None:
    assert decided(at_status(400), age=0).outcome is Outcome.DEAD
    assert decided(at_status(200), age=POLICY.horizon_seconds * 2).outcome is Outcome.DELIVERED


# ---- signing -------------------------------------------------------------------------------------------------

def test_signature_verifies_with_the_standard_webhooks_library() -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    body = json.dumps({"notificationId": "n-1", "é": 1}, ensure_ascii=False).encode()
    timestamp = int(dt.datetime.now(dt.UTC).timestamp())
    headers = {"webhook-id": "n-1", "webhook-timestamp": str(timestamp),
               "webhook-signature": sign(secret, "n-1", timestamp, body)}
    assert Webhook(secret).verify(body, headers) == {"notificationId": "n-1", "é": 1}


def test_a_secret_that_is_not_base64_is_unusable() -> None:
    with pytest.raises(SecretUnusable):
        sign("whsec_not base64!", "n", 1, b"{}")


# ---- the batch, with fakes -----------------------------------------------------------------------------------

class FakeSqs:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        def call(**kwargs: Any) -> dict[str, Any]:
            self.calls.append((name, kwargs))
            return {}
        return call

    def named(self, name: str) -> list[dict[str, Any]]:
        return [kwargs for called, kwargs in self.calls if called == name]


class FakeStore:
    def __init__(self, *subscriptions: Subscription) -> None:
        self.subscriptions = {s.subscription_id: s for s in subscriptions}
        self.status_changes: list[tuple[str, SubscriptionStatus, str]] = []

    def get(self, subscription_id: str) -> Subscription | None:
        return self.subscriptions.get(subscription_id)

    def set_status(self, subscription_id: str, status: SubscriptionStatus, reason: str) -> None:
        self.status_changes.append((subscription_id, status, reason))


class FakeSender:
    """Answers by callback URL, from a script of results (the last one repeats)."""

    def __init__(self, script: dict[str, list[SendResult]]) -> None:
        self.script = script
        self.sent: list[tuple[str, str]] = []

    def send(self, url: str, notification_id: str, payload: dict[str, Any], secret: str) -> SendResult:
        self.sent.append((url, notification_id))
        results = self.script[url]
        return results.pop(0) if len(results) > 1 else results[0]


class FakeLog:
    def __init__(self) -> None:
        self.attempts: list[Attempt] = []

    def record(self, attempt: Attempt) -> None:
        self.attempts.append(attempt)


def subscription(sid: str, status: SubscriptionStatus = SubscriptionStatus.ACTIVE) -> Subscription:
    return Subscription(subscription_id=sid, kind=SubscriptionKind.INVENTORY, callback=f"https://smo/{sid}",
                        secret="whsec_AAAA", status=status, created_at=NOW.isoformat())


def record(sid: str, n: int, receives: int = 1, body: str | None = None) -> dict[str, Any]:
    message = DeliveryMessage(notification_id=f"{sid}-n{n}", subscription_id=sid, kind=SubscriptionKind.INVENTORY,
                              callback=f"https://smo/{sid}", event_id=f"e{n}", payload={"n": n},
                              created_at=NOW.isoformat())
    return {"messageId": f"m-{sid}-{n}", "receiptHandle": f"rh-{sid}-{n}",
            "body": body if body is not None else json.dumps(message.to_wire()),
            "attributes": {"MessageGroupId": sid, "ApproximateReceiveCount": str(receives),
                           "SentTimestamp": str(int(NOW.timestamp() * 1000) - 1000)},
            "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q.fifo", "awsRegion": "us-east-1"}


def ports(store: FakeStore, sender: FakeSender, sqs: FakeSqs, log: FakeLog, **options: Any) -> DeliveryPorts:
    return DeliveryPorts(store=store, sender=sender, sqs=sqs, queue_url="q", dead_letter_url="dlq", log=log,
                         clock=lambda: NOW, random=lambda: 1.0, **options)


def failed_ids(response: dict[str, Any]) -> list[str]:
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def test_a_failing_group_holds_back_its_later_messages_while_other_groups_proceed() -> None:
    sender = FakeSender({"https://smo/a": [at_status(503)], "https://smo/b": [at_status(200)]})
    sqs, log = FakeSqs(), FakeLog()
    event = {"Records": [record("a", 1), record("b", 1), record("a", 2), record("b", 2), record("a", 3)]}
    response = deliver_batch(event, ports(FakeStore(subscription("a"), subscription("b")), sender, sqs, log))
    assert failed_ids(response) == ["m-a-1", "m-a-2", "m-a-3"]
    assert sender.sent == [("https://smo/a", "a-n1"), ("https://smo/b", "b-n1"), ("https://smo/b", "b-n2")]
    assert sqs.named("change_message_visibility") == [{"QueueUrl": "q", "ReceiptHandle": "rh-a-1",
                                                       "VisibilityTimeout": 5}]
    held = sqs.named("change_message_visibility_batch")[0]["Entries"]
    assert [(e["ReceiptHandle"], e["VisibilityTimeout"]) for e in held] == [("rh-a-2", 5), ("rh-a-3", 5)]
    assert [(a.notification_id, a.outcome) for a in log.attempts] == [
        ("a-n1", "retry"), ("b-n1", "delivered"), ("b-n2", "delivered")]


def test_when_everything_fails_the_failures_are_reported_not_raised() -> None:
    sender = FakeSender({"https://smo/a": [SendResult(error="timeout (ReadTimeout)")]})
    response = deliver_batch({"Records": [record("a", 1), record("a", 2)]},
                             ports(FakeStore(subscription("a")), sender, FakeSqs(), FakeLog()))
    assert failed_ids(response) == ["m-a-1", "m-a-2"]


def test_410_disables_and_finishes_the_message() -> None:
    store, sqs, log = FakeStore(subscription("a")), FakeSqs(), FakeLog()
    sender = FakeSender({"https://smo/a": [at_status(410)]})
    response = deliver_batch({"Records": [record("a", 1)]}, ports(store, sender, sqs, log))
    assert failed_ids(response) == []
    assert store.status_changes == [("a", SubscriptionStatus.DISABLED, "callback answered 410 Gone")]
    assert log.attempts[0].outcome == "disabled" and log.attempts[0].status == 410


def test_a_permanent_failure_goes_to_the_dlq_with_its_reason_and_the_original_is_deleted() -> None:
    sqs, log = FakeSqs(), FakeLog()
    sender = FakeSender({"https://smo/a": [at_status(400)]})
    response = deliver_batch({"Records": [record("a", 1, receives=3), record("a", 2)]},
                             ports(FakeStore(subscription("a")), sender, sqs, log))
    assert failed_ids(response) == []  # finished; the next one of the group goes ahead
    dead = sqs.named("send_message")
    assert [d["QueueUrl"] for d in dead] == ["dlq", "dlq"]
    attributes = {k: v["StringValue"] for k, v in dead[0]["MessageAttributes"].items()}
    assert attributes == {"reason": "callback answered 400", "status": "400", "attempts": "3",
                          "subscriptionId": "a", "notificationId": "a-n1"}
    assert dead[0]["MessageGroupId"] == "a" and dead[0]["MessageDeduplicationId"].startswith("a-n1.dead.")
    assert dead[0]["MessageDeduplicationId"] != dead[1]["MessageDeduplicationId"]
    assert [d["ReceiptHandle"] for d in sqs.named("delete_message")] == ["rh-a-1", "rh-a-2"]


def test_deleted_or_disabled_subscriptions_are_dropped_unsent() -> None:
    sender, log = FakeSender({}), FakeLog()
    store = FakeStore(subscription("off", SubscriptionStatus.DISABLED))
    response = deliver_batch({"Records": [record("gone", 1), record("off", 1)]},
                             ports(store, sender, FakeSqs(), log))
    assert failed_ids(response) == [] and sender.sent == []
    assert [(a.outcome, a.error) for a in log.attempts] == [("dropped", "subscription deleted"),
                                                            ("dropped", "subscription disabled")]


def test_a_malformed_message_is_dead_lettered() -> None:
    sqs = FakeSqs()
    response = deliver_batch({"Records": [record("a", 1, body="{not json")]},
                             ports(FakeStore(), FakeSender({}), sqs, FakeLog()))
    assert failed_ids(response) == []
    assert sqs.named("send_message")[0]["MessageAttributes"]["reason"]["StringValue"] == "malformed delivery message"


def test_without_enough_lambda_time_left_messages_are_put_back_unattempted() -> None:
    sender, sqs = FakeSender({"https://smo/a": [at_status(200)]}), FakeSqs()
    response = deliver_batch({"Records": [record("a", 1), record("a", 2)]},
                             ports(FakeStore(subscription("a")), sender, sqs, FakeLog(), remaining_ms=lambda: 1000))
    assert failed_ids(response) == ["m-a-1", "m-a-2"] and sender.sent == []
    assert sqs.named("change_message_visibility")[0]["VisibilityTimeout"] == 0
