"""A Lambda container's cold start: the cyclic garbage collector is held back while the code is imported and, in
the API function, while the first request is served.

Importing app builds some 50,000 objects (modules, functions, classes, pydantic's and Chalice's structures) that live
as long as the container, and the API function's first request as many again (the AWS SDK and its clients, PyJWT
and cryptography, the settings). None of them is garbage, yet every collection of the oldest generation walks all
of them again, and so many new objects set off dozens of collections: some 60 ms of CPU per cold start
(docs/performance.md "Cold start"). So app.py imports this module first, which stops the collector, calls
`loaded()` once its imports are done, and registers `first_request` as the outermost HTTP middleware. Each ends by
moving everything alive into the permanent generation (`gc.freeze`: never walked again) and starting the collector.
Only app.py imports this module: a process that never imports app keeps its collector as it was.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

_WAS_ENABLED = gc.isenabled()  # a host that turned the collector off itself keeps it off
gc.disable()


def loaded() -> None:
    """The imports are done: what they made is kept for the container's life, so the collector may skip it."""
    _settle()


class FirstRequest:
    """HTTP middleware: the API function's first request is served with the collector held, then what it built is
    settled (bounded: one request, at most API Gateway's 29 s). Later requests go straight through."""

    def __init__(self) -> None:
        self.pending = True

    def __call__(self, event: T, get_response: Callable[[T], R]) -> R:
        if not self.pending:
            return get_response(event)
        gc.disable()
        try:
            return get_response(event)
        finally:
            self.pending = False
            _settle()


first_request = FirstRequest()


def _settle() -> None:
    gc.freeze()
    if _WAS_ENABLED:
        gc.enable()
