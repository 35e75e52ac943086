"""POSTing one signed notification to one SMO callback (docs/architecture.md §4, §7), reporting what happened,
never raising.

Safety at send time (the mechanism is `chalicelib/adapters/webhooks/outbound.py`, shared with package downloads and the
token endpoint):
- the callback is parsed and its host resolved and checked against the callback policy right before the POST, and
  the connection goes to the address that passed the check (the original host travels in `Host` and as the TLS
  server name): a DNS answer that changes between the check and the connect cannot redirect the POST;
- redirects are never followed (a 3xx is reported like any other status);
- one attempt ends by its deadline however the receiver trickles its answer (`timeout_seconds` per POST, twice
  that for the whole attempt with its token fetch and the one retry after a 401);
- the response body is never read, so a hostile receiver cannot make us buffer gigabytes;
- environment proxies are ignored: a proxy would connect wherever it likes;
- the SMO bearer token goes only to the callback hosts the operator listed.

Signing is the Standard Webhooks scheme: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` keyed with the
base64-decoded part of the subscription secret after `whsec_`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from chalicelib.adapters.webhooks.oauth import ClientCredentialsTokens, TokenUnavailable
from chalicelib.adapters.webhooks.outbound import Outbound, Resolver, Target, describe, overall_deadline
from chalicelib.adapters.webhooks.resolver import resolve
from chalicelib.domain.callback_policy import CallbackPolicy, CallbackRefused

_SECRET_PREFIX = "whsec_"
USER_AGENT = "netweave-webhooks/1"


@dataclass(frozen=True)
class SendResult:
    """One attempt as seen on the wire. Exactly one of `status`, `error`, `refused` is set."""

    status: int | None = None  # the HTTP status the callback answered
    error: str | None = None  # no answer: timeout, connection failure, no token (worth retrying)
    refused: str | None = None  # never sent and never will be: callback policy, unusable secret
    retry_after: str | None = None  # the raw Retry-After header, if any
    duration_ms: float = 0.0


class SecretUnusable(ValueError):
    pass


def signing_key(secret: str) -> bytes:
    try:
        key = base64.b64decode(secret.removeprefix(_SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise SecretUnusable("the subscription secret is not whsec_<base64>") from None
    if not key:
        raise SecretUnusable("the subscription secret is empty")
    return key


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(signing_key(secret), f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def encode_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


class WebhookSender:
    def __init__(
        self,
        policy: CallbackPolicy,
        timeout_seconds: float = 10.0,
        tokens: ClientCredentialsTokens | None = None,
        resolver: Resolver = resolve,
        clock: Callable[[], float] = time.time,
        tls: ssl.SSLContext | None = None,  # trust store override (tests, private SMO CAs); default: certifi
        token_hosts: frozenset[str] = frozenset(),  # callback hosts that get the SMO bearer token; others never
    ) -> None:
        self.policy = policy
        self.timeout = timeout_seconds
        self.tokens = tokens
        self.token_hosts = token_hosts
        self.clock = clock
        self.outbound = Outbound(policy, timeout_seconds, resolver, tls)

    def send(self, url: str, notification_id: str, payload: dict[str, Any], secret: str) -> SendResult:
        started = time.monotonic()
        with overall_deadline(2 * self.timeout):  # the POST, a token fetch, the one retry after a 401
            result = self._send(url, notification_id, encode_body(payload), secret)
        return SendResult(result.status, result.error, result.refused, result.retry_after,
                          round((time.monotonic() - started) * 1000, 1))

    def _send(self, url: str, notification_id: str, body: bytes, secret: str) -> SendResult:
        try:
            target = self.outbound.check(url)
            headers = self._signed_headers(notification_id, body, secret)
        except (CallbackRefused, SecretUnusable) as refusal:
            return SendResult(refused=str(refusal))
        try:
            return self._post_authorised(target, headers, body)
        except TokenUnavailable as error:
            return SendResult(error=str(error))

    def _signed_headers(self, notification_id: str, body: bytes, secret: str) -> dict[str, str]:
        timestamp = int(self.clock())
        return {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": notification_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, notification_id, timestamp, body),
        }

    def _post_authorised(self, target: Target, headers: dict[str, str], body: bytes) -> SendResult:
        if self.tokens is None or target.url.host not in self.token_hosts:
            # The token is the gateway's credential towards the SMO: a subscriber on any other host never sees it.
            return self._post(target, headers, body)
        result = self._post(target, {**headers, "authorization": f"Bearer {self.tokens.token()}"}, body)
        if result.status == 401:
            # The SMO may have revoked the token before its expiry: fetch a fresh one and try once more.
            self.tokens.invalidate()
            result = self._post(target, {**headers, "authorization": f"Bearer {self.tokens.token()}"}, body)
        return result

    def _post(self, target: Target, headers: dict[str, str], body: bytes) -> SendResult:
        try:
            with self.outbound.open("POST", target, headers, body) as response:
                return SendResult(status=response.status_code, retry_after=response.headers.get("retry-after"))
        except httpx.HTTPError as error:
            return SendResult(error=describe(error))

    def close(self) -> None:
        self.outbound.close()
