"""Readiness: can this function reach what it depends on? Probes are ports so the check is testable without AWS."""

from __future__ import annotations

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
