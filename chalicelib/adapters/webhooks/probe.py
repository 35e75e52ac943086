"""The reachability probe of a new subscription's callback (NETWEAVE_CALLBACK_PROBE): a GET expecting 2xx, through
the outbound mechanism (`outbound.py`) like every other outbound request: on the addresses just checked, no
redirects, no proxies, one overall deadline however slowly the callback answers."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from chalicelib.adapters.webhooks.outbound import Outbound, Target
from chalicelib.domain.callback_policy import Callback, CallbackRefused, IPAddress

PROBE_TIMEOUT_SECONDS = 5.0
USER_AGENT = "netweave-webhooks/1"


class CallbackProbe:
    def __init__(self, outbound: Outbound) -> None:
        self.outbound = outbound

    def __call__(self, callback: Callback, addresses: Sequence[IPAddress]) -> None:
        try:
            with self.outbound.open("GET", Target(callback, tuple(addresses)), {"user-agent": USER_AGENT}) as reply:
                status = reply.status_code
        except httpx.HTTPError as error:
            raise CallbackRefused(f"callback: the reachability probe (GET) failed: {type(error).__name__}") from None
        if not 200 <= status < 300:
            raise CallbackRefused(f"callback: the reachability probe (GET) answered HTTP {status}; expected 2xx")
