"""Paging markers (docs/o2-conventions.md §3): opaque to clients, a DynamoDB resume key to us; a plain positive
integer N is read as page N of the requested page size, for clients that page by number."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.errors import InvalidQuery

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_VERSION = 1
_DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() also accepts '²', which int() refuses
_MAX_PAGE_DIGITS = 9


@dataclass(frozen=True)
class Marker:
    resume_after: dict[str, Any] | None = None  # DynamoDB ExclusiveStartKey
    page_number: int | None = None  # 1-based, for numeric markers


def encode_marker(resume_after: dict[str, Any]) -> str:
    raw = json.dumps({"v": _VERSION, "k": resume_after}, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_marker(text: str) -> Marker:
    if _DIGITS.fullmatch(text):
        if len(text) > _MAX_PAGE_DIGITS:
            raise InvalidQuery(f"nextpage_opaque_marker: page numbers have at most {_MAX_PAGE_DIGITS} digits")
        number = int(text)
        if number < 1:
            raise InvalidQuery("nextpage_opaque_marker: page numbers start at 1")
        return Marker(page_number=number)
    try:
        padded = text + "=" * (-len(text) % 4)
        document = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if document.get("v") != _VERSION or not _is_key(document.get("k")):
            raise ValueError("unexpected marker content")
    except (ValueError, binascii.Error, UnicodeDecodeError, AttributeError):
        raise InvalidQuery("nextpage_opaque_marker: not a marker this server issued") from None
    return Marker(resume_after=document["k"])


def _is_key(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and bool(value)
        and all(
            isinstance(k, str) and isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str)
            for k, v in value.items()
        )
    )


def parse_limit(text: str | None) -> int:
    if text is None or text == "":
        return DEFAULT_LIMIT
    # Not str.isdigit(): it accepts '²', which int() refuses, and int() reads other scripts' digits ('٣') and
    # refuses more than 4300 of them; only a few ASCII digits are an O2 number.
    if not _DIGITS.fullmatch(text) or len(text) > 4 or not 1 <= int(text) <= MAX_LIMIT:
        raise InvalidQuery(f"limit: must be a whole number from 1 to {MAX_LIMIT} (got {text[:20]!a})")
    return int(text)
