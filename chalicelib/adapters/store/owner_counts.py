"""Per-tenant counters for quotas, written in the same DynamoDB transaction as the record they count (subscriptions,
provisioning requests): a quota then holds however many requests race (docs/o2-conventions.md §6)."""

from __future__ import annotations

import hashlib
from typing import Any


def counter_id(prefix: str, owner: str) -> str:
    """The key of a tenant's counter item: `prefix` + the SHA-256 of the tenant (tenant names never become keys)."""
    return prefix + hashlib.sha256(owner.encode()).hexdigest()


def count_update(table: str, key: dict[str, Any], step: int, limit: int | None) -> dict[str, Any]:
    """The transaction's Update of a counter item: +1 refused at `limit`, -1 never below 0."""
    update: dict[str, Any] = {
        "TableName": table, "Key": key, "UpdateExpression": "ADD #owned :step",
        "ExpressionAttributeNames": {"#owned": "owned"}, "ExpressionAttributeValues": {":step": {"N": str(step)}},
    }
    if step < 0:
        update["ConditionExpression"] = "#owned > :zero"
        update["ExpressionAttributeValues"][":zero"] = {"N": "0"}
    elif limit is not None:
        update["ConditionExpression"] = "attribute_not_exists(#owned) OR #owned < :limit"
        update["ExpressionAttributeValues"][":limit"] = {"N": str(limit)}
    return update


def failed_at(error: Exception, index: int) -> bool:
    """Whether a cancelled transaction failed on the condition of its `index`-th write."""
    reasons = getattr(error, "response", {}).get("CancellationReasons") or []
    return len(reasons) > index and reasons[index].get("Code") == "ConditionalCheckFailed"
