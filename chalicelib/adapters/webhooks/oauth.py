"""OAuth2 client credentials towards the SMO (docs/architecture.md §4): one bearer token for every notification, cached.

The token is fetched from the operator-configured token endpoint and reused until shortly before it expires. The
endpoint is reached through the same outbound mechanism as callbacks (`adapters/webhooks/outbound.py`: checked
address, pinned connection, no redirects, no proxies, one overall deadline); being operator configuration, its host
is admitted even on an internal address, but never on a cloud metadata address. A 401 from a callback invalidates it,
so a token the SMO revoked early is replaced on the next send. Neither the token nor the client secret is ever
logged or put into an error message.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import threading
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlencode, urlsplit

import httpx

from chalicelib.adapters.webhooks.outbound import Outbound, Resolver
from chalicelib.adapters.webhooks.resolver import resolve
from chalicelib.domain.callback_policy import CallbackPolicy, CallbackRefused

_DEFAULT_LIFETIME = 300.0  # when the token endpoint does not say (`expires_in` is only RECOMMENDED, RFC 6749 §5.1)
_REFRESH_MARGIN = 60.0  # renew this long before expiry, so a token never expires in flight


class TokenUnavailable(Exception):
    """The token endpoint did not issue a token; the message says why without credentials."""


class ClientCredentialsTokens:
    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: Callable[[], str],
        scope: str | None = None,
        policy: CallbackPolicy | None = None,  # the callback policy; default: any scheme (still never metadata)
        timeout_seconds: float = 10.0,
        resolver: Resolver = resolve,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret  # a callable: an SSM parameter is read only when a token is needed
        self.scope = scope
        self._outbound = Outbound(token_policy(token_url, policy), timeout_seconds, resolver)
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._token: str | None = None
        self._valid_until = 0.0

    def token(self) -> str:
        with self._lock:
            if self._token is None or self._monotonic() >= self._valid_until:
                self._token, lifetime = self._fetch()
                margin = min(_REFRESH_MARGIN, lifetime / 10)
                self._valid_until = self._monotonic() + lifetime - margin
            return self._token

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def _fetch(self) -> tuple[str, float]:
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        # client_secret_basic, the method every authorisation server must support (RFC 6749 §2.3.1)
        basic = base64.b64encode(f"{self.client_id}:{self._client_secret()}".encode()).decode()
        headers = {"accept": "application/json", "content-type": "application/x-www-form-urlencoded",
                   "authorization": f"Basic {basic}"}
        try:
            target = self._outbound.check(self.token_url)
            with self._outbound.open("POST", target, headers, urlencode(form).encode()) as reply:
                if reply.status_code != 200:
                    raise TokenUnavailable(f"token endpoint answered {reply.status_code}")
                body = b"".join(_capped(reply.iter_bytes()))
        except CallbackRefused as refused:
            raise TokenUnavailable(f"token endpoint refused: {refused.detail.removeprefix('callback: ')}") from None
        except httpx.HTTPError as error:
            raise TokenUnavailable(f"token endpoint unreachable ({type(error).__name__})") from None
        try:
            document = json.loads(body)
            token = document["access_token"]
            lifetime = float(document.get("expires_in") or _DEFAULT_LIFETIME)
        except (ValueError, KeyError, TypeError):
            raise TokenUnavailable("token endpoint answered without a usable access_token") from None
        if not isinstance(token, str) or not token:
            raise TokenUnavailable("token endpoint answered without a usable access_token")
        return token, max(lifetime, 1.0)


_MAX_TOKEN_RESPONSE = 64 * 1024


def _capped(chunks: Iterator[bytes]) -> Iterator[bytes]:
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > _MAX_TOKEN_RESPONSE:
            raise TokenUnavailable("token endpoint answered more than 64 KiB")
        yield chunk


def token_policy(token_url: str, policy: CallbackPolicy | None) -> CallbackPolicy:
    """The callback policy with the token endpoint's host admitted: the operator named it."""
    host = (urlsplit(token_url).hostname or "").lower()
    base = policy or CallbackPolicy(allow_http=True)
    return dataclasses.replace(base, allowed_hosts=base.allowed_hosts | {host})
