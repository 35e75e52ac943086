"""Asking for an immediate inventory poll of one backend: an EventBridge event the `poll_inventory_on_change`
rule turns into a poll. The in-cluster relay (relay/, docs/relay.md) sends this very entry; locally the event pump
plays the rule (devtools/localstack/rules.py), so the poll is immediate there too."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.observability import logger


class EventBridgePollTrigger:
    def __init__(self, client: Any, bus_name: str = "default") -> None:
        self.client = client
        self.bus_name = bus_name

    def __call__(self, adapter_id: str) -> None:
        entry = {"Source": "netweave", "DetailType": "Inventory Changed", "EventBusName": self.bus_name,
                 "Detail": json.dumps({"adapterId": adapter_id})}
        try:
            reply = self.client.put_events(Entries=[entry])
            failed = reply.get("FailedEntryCount", 0)
        except Exception as error:  # the change itself succeeded; the scheduled poll will pick it up anyway
            logger.warning("could not request an immediate poll", extra={"adapterId": adapter_id,
                                                                         "error": type(error).__name__})
            return
        if failed:
            logger.warning("EventBridge refused the poll request", extra={"adapterId": adapter_id})
