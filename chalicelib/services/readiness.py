"""Readiness: can this function reach what it depends on? Probes are ports so the check is testable without AWS.

Each probe is an AWS call, and `/ready` needs no token: `CachedReadiness` answers every probe within a few seconds
from one check, so a caller cannot turn readiness probes into a stream of AWS calls (docs/security.md)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from chalicelib.domain.models import Readiness, ReadinessCheck

Probe = tuple[str, Callable[[], None]]


def check_readiness(probes: Iterable[Probe]) -> Readiness:
    checks = [_run(name, probe) for name, probe in probes]
    return Readiness(status="ready" if all(c.ok for c in checks) else "not ready", checks=checks)


def _run(name: str, probe: Callable[[], None]) -> ReadinessCheck:
    try:
        probe()
    except Exception as error:  # any failure means not ready; the type is enough for an operator, never secrets
        return ReadinessCheck(name=name, ok=False, detail=f"{type(error).__name__}")
    return ReadinessCheck(name=name, ok=True)


class CachedReadiness:
    """The last readiness report of this container, checked again once it is `ttl_seconds` old (0: every time)."""

    def __init__(self, probes: Callable[[], Iterable[Probe]], ttl_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._probes = probes
        self._ttl = ttl_seconds
        self._clock = clock
        self._last: tuple[float, Readiness] | None = None

    def report(self) -> Readiness:
        now = self._clock()
        if self._last is not None and now - self._last[0] < self._ttl:
            return self._last[1]
        report = check_readiness(self._probes())
        self._last = (self._clock(), report)
        return report
