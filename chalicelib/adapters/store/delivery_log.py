"""Every delivery attempt in DynamoDB (`resources.DELIVERY_LOG`), for operators (docs/architecture.md §4: every
outcome recorded).

pk = subscription id, sk = `<iso time>#<notificationId>#<attempt>`: one subscription's attempts read back in time
order with one query. Items expire after 30 days (TTL `expiresAt`). Errors are short and carry no secrets: they
come from `SendResult`, which never holds a token, a signature or a callback URL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from chalicelib.observability import logger

RETENTION = dt.timedelta(days=30)


@dataclass(frozen=True)
class Attempt:
    subscription_id: str
    notification_id: str
    attempt: int
    outcome: str  # delivered | retry | disabled | dead | dropped
    at: dt.datetime
    status: int | None = None
    error: str | None = None
    duration_ms: float = 0.0

    @property
    def key(self) -> str:
        return f"{self.at.isoformat()}#{self.notification_id}#{self.attempt}"

    def to_plain(self) -> dict[str, Any]:
        """For operators (CLI, the future HTTP endpoint): JSON-ready."""
        return {"subscriptionId": self.subscription_id, "notificationId": self.notification_id,
                "attempt": self.attempt, "outcome": self.outcome, "at": self.at.isoformat(),
                "status": self.status, "error": self.error, "durationMs": self.duration_ms}


class DeliveryLog:
    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table = table_name

    def record(self, attempt: Attempt) -> None:
        """Best effort: a delivery that succeeded must not be retried (and duplicated) because its log line could
        not be written, so a failed write is logged and swallowed."""
        try:
            self.client.put_item(TableName=self.table, Item=_item(attempt))
        except Exception as error:
            logger.warning("delivery log write failed", extra={"subscription": attempt.subscription_id,
                                                               "notification": attempt.notification_id,
                                                               "error": type(error).__name__})

    def attempts(self, subscription_id: str, limit: int = 100, newest_first: bool = True) -> list[Attempt]:
        found: list[Attempt] = []
        query: dict[str, Any] = {"TableName": self.table, "KeyConditionExpression": "subscriptionId = :s",
                                 "ExpressionAttributeValues": {":s": {"S": subscription_id}},
                                 "ScanIndexForward": not newest_first}
        while len(found) < limit:
            reply = self.client.query(**query, Limit=limit - len(found))
            found.extend(_attempt(item) for item in reply.get("Items", []))
            if "LastEvaluatedKey" not in reply:
                break
            query["ExclusiveStartKey"] = reply["LastEvaluatedKey"]
        return found


def _item(attempt: Attempt) -> dict[str, Any]:
    item: dict[str, Any] = {
        "subscriptionId": {"S": attempt.subscription_id},
        "attemptKey": {"S": attempt.key},
        "notificationId": {"S": attempt.notification_id},
        "attempt": {"N": str(attempt.attempt)},
        "outcome": {"S": attempt.outcome},
        "at": {"S": attempt.at.isoformat()},
        "durationMs": {"N": str(attempt.duration_ms)},
        "expiresAt": {"N": str(int((attempt.at + RETENTION).timestamp()))},
    }
    if attempt.status is not None:
        item["status"] = {"N": str(attempt.status)}
    if attempt.error:
        item["error"] = {"S": attempt.error[:300]}
    return item


def _attempt(item: dict[str, Any]) -> Attempt:
    return Attempt(
        subscription_id=item["subscriptionId"]["S"],
        notification_id=item["notificationId"]["S"],
        attempt=int(item["attempt"]["N"]),
        outcome=item["outcome"]["S"],
        at=dt.datetime.fromisoformat(item["at"]["S"]),
        status=int(item["status"]["N"]) if "status" in item else None,
        error=item.get("error", {}).get("S"),
        duration_ms=float(item["durationMs"]["N"]),
    )
