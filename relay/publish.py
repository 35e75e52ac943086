"""Poll requests to EventBridge: the very entry chalicelib/adapters/poll_trigger.py sends (source `netweave`,
detail `{"adapterId": ...}`), which the `poll_inventory_on_change` rule turns into a poll of that backend.

PutEvents takes at most 10 entries per call, and a region allows some thousands of entries per second; the
coalescer keeps the relay to one entry per backend per window, far below that. Throttled or failed entries are
retried with a growing, jittered delay a few times, then dropped: the scheduled poll still reads the change."""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("relay.publish")
MAX_ENTRIES = 10  # per PutEvents call


def poll_request(adapter_id: str, bus_name: str) -> dict[str, str]:
    return {"Source": "netweave", "DetailType": "Inventory Changed", "EventBusName": bus_name,
            "Detail": json.dumps({"adapterId": adapter_id})}


class Publisher:
    def __init__(self, client: Any, bus_name: str = "default", attempts: int = 4,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.client, self.bus_name, self.attempts, self.sleep = client, bus_name, attempts, sleep
        self.calls = 0  # PutEvents calls made
        self.sent = 0  # entries EventBridge accepted

    def publish(self, backends: list[str]) -> list[str]:
        """Ask for a poll of each backend; returns those given up on."""
        lost: list[str] = []
        for start in range(0, len(backends), MAX_ENTRIES):
            lost += self._publish_chunk(backends[start:start + MAX_ENTRIES])
        return lost

    def _publish_chunk(self, backends: list[str]) -> list[str]:
        for attempt in range(self.attempts):
            if attempt:
                self.sleep(min(5.0, 0.2 * 2 ** attempt) * random.uniform(0.5, 1.0))
            backends = self._put(backends)
            if not backends:
                return []
        log.warning("poll requests dropped; the schedule will poll", extra={"backends": backends})
        return backends

    def _put(self, backends: list[str]) -> list[str]:
        """One PutEvents call; returns the backends whose entries failed."""
        self.calls += 1
        try:
            reply = self.client.put_events(Entries=[poll_request(b, self.bus_name) for b in backends])
        except Exception as error:  # throttling, transport: all retried alike
            log.warning("PutEvents failed", extra={"error": repr(error)})
            return backends
        results = reply.get("Entries") or []
        failed = [b for b, result in zip(backends, results, strict=False) if result.get("ErrorCode")]
        if reply.get("FailedEntryCount") and not failed:
            failed = backends  # a reply without per-entry results: retry them all
        self.sent += len(backends) - len(failed)
        return failed
