"""Downloading a chart archive from a client's `packageUrl` (docs/security.md, "Outbound requests").

Through the outbound mechanism (`outbound.py`): the host is resolved and checked once and the connection goes to
the checked address (no DNS rebinding), redirects are not followed, and the whole download runs under one deadline
and a size cap. What the client learns is deliberately little: whether the URL is refused by the policy (400, as
for callbacks), and otherwise that "the package URL could not be fetched" (422), with the HTTP status only when
every address of the host is public. Connection errors, timeouts, statuses of internal hosts and redirect targets
stay in the server's log: echoing them would make the endpoint a port scanner for the networks netweave reaches.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx

from chalicelib.adapters.webhooks.outbound import Outbound, Target, describe
from chalicelib.domain.callback_policy import CallbackRefused, all_public
from chalicelib.domain.packages import PackageRejected, PackageRequestInvalid, PackageTooLarge
from chalicelib.observability import logger

COULD_NOT_FETCH = "packageUrl: the package URL could not be fetched"


class ArchiveFetcher:
    def __init__(self, outbound: Outbound) -> None:
        self.outbound = outbound

    def fetch(self, url: str, max_bytes: int) -> bytes:
        try:
            target = self.outbound.check(url)
        except CallbackRefused as refused:
            # The policy speaks of callbacks; here the URL is a package's.
            raise PackageRequestInvalid(refused.detail.replace("callback:", "packageUrl:", 1)) from None
        public = all_public(target.addresses)
        try:
            with self.outbound.open("GET", target, {"accept": "application/gzip, */*"}) as response:
                if response.status_code != 200:
                    _log(target, f"HTTP {response.status_code}", response.headers.get("location"))
                    redirect = "; redirects are not followed" if 300 <= response.status_code < 400 else ""
                    raise PackageRejected(f"{COULD_NOT_FETCH} (HTTP {response.status_code}{redirect})" if public
                                          else COULD_NOT_FETCH)
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise _too_large(target, public, max_bytes)
                return _read_capped(response.iter_bytes(), max_bytes, target, public)
        except httpx.HTTPError as error:
            _log(target, describe(error))
            timeout = isinstance(error, httpx.TimeoutException)
            raise PackageRejected(f"{COULD_NOT_FETCH} (timeout)" if public and timeout else COULD_NOT_FETCH) from None


def _read_capped(chunks: Iterator[bytes], max_bytes: int, target: Target, public: bool) -> bytes:
    received = bytearray()
    for chunk in chunks:
        received.extend(chunk)
        if len(received) > max_bytes:
            raise _too_large(target, public, max_bytes)
    return bytes(received)


def _too_large(target: Target, public: bool, max_bytes: int) -> Exception:
    _log(target, f"archive larger than {max_bytes} bytes")
    if public:
        return PackageTooLarge(f"packageUrl: the archive exceeds the limit of {max_bytes} bytes")
    return PackageRejected(COULD_NOT_FETCH)


def _log(target: Target, problem: str, location: str | None = None) -> None:
    """For the operator: which host and address, and what went wrong (never the query string, which may carry
    credentials)."""
    logger.info("packageUrl not fetched", extra={
        "packageHost": target.url.host, "port": target.url.port,
        "addresses": [str(a) for a in target.addresses], "problem": problem,
        "redirect": (location or "")[:300] or None,
    })
