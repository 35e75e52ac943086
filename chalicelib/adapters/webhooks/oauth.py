"""OAuth2 client credentials towards the SMO (docs/architecture.md §4): one bearer token for every notification, cached.

The token is fetched from the operator-configured token endpoint (not from anything an SMO supplies, so it is not
subject to the callback policy) and reused until shortly before it expires. A 401 from a callback invalidates it,
so a token the SMO revoked early is replaced on the next send. Neither the token nor the client secret is ever
logged or put into an error message.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx

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
        client: httpx.Client | None = None,
        timeout_seconds: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret  # a callable: an SSM parameter is read only when a token is needed
        self.scope = scope
        self._client = client or httpx.Client(timeout=timeout_seconds, follow_redirects=False, trust_env=False)
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
        try:
            # client_secret_basic, the method every authorisation server must support (RFC 6749 §2.3.1)
            reply = self._client.post(self.token_url, data=form, auth=(self.client_id, self._client_secret()),
                                      headers={"accept": "application/json"})
        except httpx.HTTPError as error:
            raise TokenUnavailable(f"token endpoint unreachable ({type(error).__name__})") from None
        if reply.status_code != 200:
            raise TokenUnavailable(f"token endpoint answered {reply.status_code}")
        try:
            document = reply.json()
            token = document["access_token"]
            lifetime = float(document.get("expires_in") or _DEFAULT_LIFETIME)
        except (ValueError, KeyError, TypeError):
            raise TokenUnavailable("token endpoint answered without a usable access_token") from None
        if not isinstance(token, str) or not token:
            raise TokenUnavailable("token endpoint answered without a usable access_token")
        return token, max(lifetime, 1.0)
