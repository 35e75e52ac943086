"""Bearer tokens: a fixed string, a file (re-read when it changes, so a re-minted `.local/token` is picked up), or
OAuth2 client credentials refreshed before expiry.

Providers do no I/O towards the network themselves: a provider that needs a new token hands the client an
`httpx.Request` to send and is given the response, so the sync and async clients share every line of it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import httpx

from netweave_client.errors import problem_error


class TokenProvider(Protocol):
    def cached(self, now: float) -> str | None:
        """A token usable at `now`, or None when `refresh_request` must be sent first."""

    def refresh_request(self) -> httpx.Request:
        """The request that obtains a new token."""

    def accept(self, response: httpx.Response, now: float) -> str:
        """Take the answer to `refresh_request`; returns the new token."""

    def invalidate(self) -> None:
        """The gateway refused the token (401): the next `cached` must not return it."""


@dataclass
class StaticToken:
    token: str

    def cached(self, now: float) -> str | None:
        return self.token

    def refresh_request(self) -> httpx.Request:
        raise NotImplementedError("a static token cannot be refreshed")

    def accept(self, response: httpx.Response, now: float) -> str:
        return self.token

    def invalidate(self) -> None:
        """Nothing to refresh from: the 401 reaches the caller."""


@dataclass
class FileToken:
    """The token in a file; read again whenever the file's modification time changes."""

    path: Path
    _token: str | None = field(default=None, repr=False)
    _mtime: float | None = field(default=None, repr=False)

    def cached(self, now: float) -> str | None:
        mtime = os.stat(self.path).st_mtime
        if self._token is None or mtime != self._mtime:
            self._token, self._mtime = self.path.read_text().strip(), mtime
        return self._token

    def refresh_request(self) -> httpx.Request:
        raise NotImplementedError("a token file cannot be refreshed by the client")

    def accept(self, response: httpx.Response, now: float) -> str:
        return self.cached(now) or ""

    def invalidate(self) -> None:
        self._token = None


@dataclass
class ClientCredentials:
    """OAuth2 client credentials grant (RFC 6749 §4.4), client authentication by HTTP Basic (§2.3.1). The token is
    replaced `refresh_margin` seconds before `expires_in` runs out, so no request leaves with a token about to
    expire."""

    token_url: str
    client_id: str
    client_secret: str
    scope: str | None = None
    audience: str | None = None
    refresh_margin: float = 60.0
    _token: str | None = field(default=None, repr=False)
    _expires_at: float = field(default=0.0, repr=False)

    def cached(self, now: float) -> str | None:
        if self._token is not None and now < self._expires_at - self.refresh_margin:
            return self._token
        return None

    def refresh_request(self) -> httpx.Request:
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        if self.audience:
            form["audience"] = self.audience
        basic = httpx.BasicAuth(self.client_id, self.client_secret)
        request = httpx.Request("POST", self.token_url, data=form, headers={"Accept": "application/json"})
        return next(basic.auth_flow(request))

    def accept(self, response: httpx.Response, now: float) -> str:
        if response.status_code >= 400:
            raise problem_error(response)
        body = response.json()
        self._token = str(body["access_token"])
        # without expires_in the token is used until the gateway refuses it
        self._expires_at = now + float(body.get("expires_in", 10 * 365 * 86400))
        return self._token

    def invalidate(self) -> None:
        self._token = None


def as_provider(token: str | Path | TokenProvider | None) -> TokenProvider | None:
    if token is None or isinstance(token, StaticToken | FileToken | ClientCredentials):
        return token
    if isinstance(token, str):
        return StaticToken(token)
    if isinstance(token, Path):
        return FileToken(token)
    return token
