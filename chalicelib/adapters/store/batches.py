"""DynamoDB's batch calls within their limits (25 writes, 100 reads per request), with what they leave unprocessed
retried after a growing pause: DynamoDB returns unprocessed items instead of an error when a partition is throttled,
and resending them at once would be throttled again."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from chalicelib.domain.errors import BackendUnavailable

WRITE_LIMIT = 25
READ_LIMIT = 100
ATTEMPTS = 8  # pauses of 50 ms doubling up to 3.2 s: some 6 s of throttling before giving up
FIRST_PAUSE = 0.05

Sleep = Callable[[float], None]


def write_batches(client: Any, table: str, requests: list[dict[str, Any]], sleep: Sleep = time.sleep) -> None:
    """Every Put/DeleteRequest written, in order of batches, or BackendUnavailable."""
    for start in range(0, len(requests), WRITE_LIMIT):
        pending: dict[str, Any] = {table: requests[start:start + WRITE_LIMIT]}
        for attempt in range(ATTEMPTS):
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                break
            _pause(attempt, sleep)
        else:
            raise BackendUnavailable(f"DynamoDB left {len(pending.get(table, []))} writes unprocessed")


def batch_get(client: Any, table: str, keys: list[dict[str, Any]], options: dict[str, Any],
              sleep: Sleep = time.sleep) -> list[dict[str, Any]]:
    """The items found for `keys` (`options`: ProjectionExpression, ConsistentRead), in no particular order."""
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), READ_LIMIT):
        pending: dict[str, Any] = {table: {"Keys": keys[start:start + READ_LIMIT], **options}}
        for attempt in range(ATTEMPTS):
            reply = client.batch_get_item(RequestItems=pending)
            found.extend(reply["Responses"].get(table, []))
            pending = reply.get("UnprocessedKeys") or {}
            if not pending:
                break
            _pause(attempt, sleep)
        else:
            raise BackendUnavailable("DynamoDB left reads unprocessed")
    return found


def _pause(attempt: int, sleep: Sleep) -> None:
    # full jitter: concurrent writers throttled together do not retry in step
    sleep(random.uniform(0, FIRST_PAUSE * 2**attempt))
