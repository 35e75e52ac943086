"""Waiting for something observable instead of sleeping for as long as a cache or a poll is thought to take."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float, interval: float = 0.2, what: str = "") -> T:
    """Call `predicate` every `interval` seconds until it returns something truthy, and return that.

    Fails the test (AssertionError naming `what` and the last answer) when `timeout` seconds pass first. The predicate
    is always called at least once, and once more at the deadline, so a slow machine never fails a condition that
    became true while the helper slept.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"{what or getattr(predicate, '__name__', 'condition')} not reached after "
                                 f"{timeout:g} s; last answer: {result!r}")
        time.sleep(min(interval, remaining))
