"""The tests' `wait_until`: returns what the condition answered once it holds, fails the test when it never does."""

from __future__ import annotations

import time

import pytest

from tests.waiting import wait_until


def test_returns_the_first_truthy_answer() -> None:
    answers = iter([None, [], ["ready"], ["later"]])
    assert wait_until(lambda: next(answers), timeout=5, interval=0.001) == ["ready"]


def test_fails_naming_what_was_awaited_and_the_last_answer() -> None:
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"the pod running not reached after 0.05 s; last answer: \[\]"):
        wait_until(lambda: [], timeout=0.05, interval=0.01, what="the pod running")
    assert time.monotonic() - started < 1


def test_asks_once_more_at_the_deadline() -> None:
    calls: list[float] = []

    def slow() -> bool:
        calls.append(time.monotonic())
        return len(calls) == 2  # true only on the call after the one sleep

    assert wait_until(slow, timeout=0.01, interval=1) is True
