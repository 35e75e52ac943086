"""Paging markers (docs/o2-conventions.md §3): opaque to clients, a signed DynamoDB resume key to us; a plain
positive integer N is read as page N of the requested page size, for clients that page by number.

A marker comes back from the client, so it is hostile input that would otherwise reach DynamoDB as an
ExclusiveStartKey: it carries an HMAC-SHA256 over the list it was issued for and the key, and the key must have
exactly the attributes that list's index expects. A tampered, forged or foreign marker answers 400.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.errors import InvalidQuery

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_VERSION = 2  # 1: unsigned markers, no longer accepted
_DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() also accepts '²', which int() refuses
_MAX_PAGE_DIGITS = 9
_TOKEN = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")  # base64url payload '.' base64url MAC: URL-safe as is
_MAX_TOKEN_LENGTH = 1024  # an issued key is a few ids long; a longer marker was not issued by us
INVALID = "nextpage_opaque_marker: invalid"

Key = dict[str, Any]


@dataclass(frozen=True)
class Marker:
    token: str | None = None  # an issued marker, checked by the list it was issued for (`MarkerCodec.decode`)
    page_number: int | None = None  # 1-based, for numeric markers


@dataclass(frozen=True)
class MarkerCodec:
    """Signs the resume keys a list hands out and checks the ones clients hand back. `scope` names the list (its
    collection and parent), so a marker of one list is foreign to every other.

    `secret` is the key, or what gives it when a marker is first signed or checked: on a deployed stage the key is
    an SSM parameter, and a list that fits one page and got no marker should not pay an SSM client for it (about
    60 ms of a cold start, docs/performance.md "Cold start")."""

    secret: bytes | Callable[[], bytes] = field(repr=False)

    def encode(self, scope: str, resume_after: Key) -> str:
        payload = _b64(json.dumps(resume_after, separators=(",", ":"), sort_keys=True).encode())
        return f"{payload}.{_b64(self._mac(scope, payload))}"

    def decode(self, scope: str, token: str, attributes: frozenset[str]) -> Key:
        """The resume key, if this list issued `token` and it has exactly `attributes`, each a DynamoDB string."""
        payload, _, mac = token.partition(".")
        if not hmac.compare_digest(mac.encode(), _b64(self._mac(scope, payload)).encode()):
            raise InvalidQuery(INVALID)
        try:
            key = json.loads(_unb64(payload))
        except (ValueError, binascii.Error):  # signed by us, so only a leaked secret gets here
            raise InvalidQuery(INVALID) from None
        if not _is_key(key, attributes):
            raise InvalidQuery(INVALID)
        return dict(key)

    def _mac(self, scope: str, payload: str) -> bytes:
        key = self.secret if isinstance(self.secret, bytes) else self.secret()
        return hmac.new(key, f"{_VERSION}\n{scope}\n{payload}".encode(), hashlib.sha256).digest()


def decode_marker(text: str) -> Marker:
    """What a marker is by its form; whether the list issued it is checked by the list (`MarkerCodec.decode`)."""
    if _DIGITS.fullmatch(text):
        if len(text) > _MAX_PAGE_DIGITS:
            raise InvalidQuery(f"nextpage_opaque_marker: page numbers have at most {_MAX_PAGE_DIGITS} digits")
        number = int(text)
        if number < 1:
            raise InvalidQuery("nextpage_opaque_marker: page numbers start at 1")
        return Marker(page_number=number)
    if len(text) > _MAX_TOKEN_LENGTH or not _TOKEN.fullmatch(text):
        raise InvalidQuery(INVALID)
    return Marker(token=text)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _is_key(value: Any, attributes: frozenset[str]) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == attributes
        and all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) and v["S"] for v in value.values())
    )


def parse_limit(text: str | None) -> int:
    if text is None or text == "":
        return DEFAULT_LIMIT
    # Not str.isdigit(): it accepts '²', which int() refuses, and int() reads other scripts' digits ('٣') and
    # refuses more than 4300 of them; only a few ASCII digits are an O2 number.
    if not _DIGITS.fullmatch(text) or len(text) > 4 or not 1 <= int(text) <= MAX_LIMIT:
        raise InvalidQuery(f"limit: must be a whole number from 1 to {MAX_LIMIT} (got {text[:20]!a})")
    return int(text)
