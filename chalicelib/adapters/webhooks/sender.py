"""POSTing one signed notification to one SMO callback (docs/architecture.md §4, §7), reporting what happened,
never raising.

Safety at send time:
- the callback is parsed and its host resolved and checked against the callback policy right before the POST, and
  the connection goes to the address that passed the check (the URL is rewritten to that address; the original
  host travels in `Host` and as the TLS server name, so certificates are still verified for the host): a DNS
  answer that changes between the check and the connect cannot redirect the POST to an internal address;
- redirects are never followed (a 3xx is reported like any other status);
- the response body is never read, so a hostile receiver cannot make us buffer gigabytes;
- environment proxies are ignored (`trust_env=False`): a proxy would connect wherever it likes.

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
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from chalicelib.adapters.webhooks.oauth import ClientCredentialsTokens, TokenUnavailable
from chalicelib.adapters.webhooks.resolver import resolve
from chalicelib.domain.callback_policy import (
    Callback,
    CallbackPolicy,
    CallbackRefused,
    IPAddress,
    check_addresses,
    parse_callback,
)

_SECRET_PREFIX = "whsec_"
_MAX_CLIENTS = 64  # one connection pool per callback host (see `_client_for`), the least recently used closed
USER_AGENT = "netweave-webhooks/1"

Resolver = Callable[[Callback], list[IPAddress]]


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
        self.tls = tls
        self.timeout = timeout_seconds
        self.tokens = tokens
        self.token_hosts = token_hosts
        self.resolver = resolver
        self.clock = clock
        self._clients: OrderedDict[str, httpx.Client] = OrderedDict()
        self._lock = threading.Lock()

    def send(self, url: str, notification_id: str, payload: dict[str, Any], secret: str) -> SendResult:
        started = time.monotonic()
        result = self._send(url, notification_id, encode_body(payload), secret)
        return SendResult(result.status, result.error, result.refused, result.retry_after,
                          round((time.monotonic() - started) * 1000, 1))

    def _send(self, url: str, notification_id: str, body: bytes, secret: str) -> SendResult:
        try:
            callback = parse_callback(url, self.policy)
            addresses = self.resolver(callback)
            check_addresses(callback, addresses, self.policy)
            headers = self._signed_headers(callback, notification_id, body, secret)
        except (CallbackRefused, SecretUnusable) as refusal:
            return SendResult(refused=str(refusal))
        try:
            return self._post_authorised(callback, addresses, headers, body)
        except TokenUnavailable as error:
            return SendResult(error=str(error))

    def _signed_headers(self, callback: Callback, notification_id: str, body: bytes, secret: str) -> dict[str, str]:
        timestamp = int(self.clock())
        default_port = 443 if callback.scheme == "https" else 80
        host = _bracketed(callback.host) + ("" if callback.port == default_port else f":{callback.port}")
        return {
            "host": host,
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": notification_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, notification_id, timestamp, body),
        }

    def _post_authorised(self, callback: Callback, addresses: list[IPAddress], headers: dict[str, str],
                         body: bytes) -> SendResult:
        if self.tokens is None or callback.host not in self.token_hosts:
            # The token is the gateway's credential towards the SMO: a subscriber on any other host never sees it.
            return self._post(callback, addresses, headers, body)
        result = self._post(callback, addresses, {**headers, "authorization": f"Bearer {self.tokens.token()}"}, body)
        if result.status == 401:
            # The SMO may have revoked the token before its expiry: fetch a fresh one and try once more.
            self.tokens.invalidate()
            result = self._post(callback, addresses, {**headers, "authorization": f"Bearer {self.tokens.token()}"},
                                body)
        return result

    def _post(self, callback: Callback, addresses: list[IPAddress], headers: dict[str, str],
              body: bytes) -> SendResult:
        client = self._client_for(callback)
        last_error = "no address"
        # Each address passed the policy; try the next only when one cannot be connected to at all (an IPv6
        # answer on a network without IPv6), never after a timeout, which would multiply the wait.
        for address in addresses:
            target = httpx.URL(callback.url).copy_with(host=str(address))
            request = client.build_request("POST", target, headers=headers, content=body,
                                           extensions={"sni_hostname": callback.host})
            try:
                response = client.send(request, stream=True)
            except httpx.ConnectError as error:
                last_error = _describe(error)
                continue
            except httpx.HTTPError as error:
                return SendResult(error=_describe(error))
            response.close()
            return SendResult(status=response.status_code, retry_after=response.headers.get("retry-after"))
        return SendResult(error=last_error)

    def _client_for(self, callback: Callback) -> httpx.Client:
        """A pool per callback host: pooled connections are keyed by address, and a TLS connection verified for
        one host must not carry another host's notification just because both share an address."""
        key = f"{callback.scheme}://{callback.host}:{callback.port}"
        with self._lock:
            client = self._clients.pop(key, None)
            if client is None:
                client = httpx.Client(timeout=self.timeout, follow_redirects=False, trust_env=False,
                                      verify=self.tls or True)
            self._clients[key] = client
            while len(self._clients) > _MAX_CLIENTS:
                self._clients.popitem(last=False)[1].close()
            return client

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _describe(error: httpx.HTTPError) -> str:
    """Short, and free of URLs (a callback's query string may carry the SMO's own credentials)."""
    if isinstance(error, httpx.TimeoutException):
        return f"timeout ({type(error).__name__})"
    reason = str(error.__cause__ or error).split("\n")[0][:120]
    return f"{type(error).__name__}: {reason}" if reason else type(error).__name__
