"""Readiness: can this function reach what it depends on, and is there an inventory to serve? Probes are ports so the
check is testable without AWS.

Each probe is an AWS call, and `/ready` needs no token: `CachedReadiness` answers every probe within a few seconds
from one check, so a caller cannot turn readiness probes into a stream of AWS calls (docs/security.md)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Protocol

from chalicelib.domain.models import Readiness, ReadinessCheck

Probe = tuple[str, Callable[[], None]]
INVENTORY_SNAPSHOT = "inventory snapshot"


class NotReady(Exception):
    """A probe's verdict in its own words (the check's `detail`), where the exception's type would say nothing."""


class SnapshotMarkers(Protocol):
    """The marker a completed poll leaves per backend (`InventoryStore.manifest`)."""

    def manifest(self, backend: str) -> object | None: ...


def inventory_snapshot_probe(store: SnapshotMarkers, backends: Sequence[str]) -> Probe:
    """Ready means the first poll of every IMS backend is stored: before it, every inventory list answers `[]`, and
    an SMO would read an empty site (issue 16). One GetItem per backend, answered from the readiness cache."""
    return INVENTORY_SNAPSHOT, partial(_require_snapshots, store, tuple(backends))


def _require_snapshots(store: SnapshotMarkers, backends: tuple[str, ...]) -> None:
    if not backends:  # a deployed zip without its gateway.yaml (docs/deploy-aws.md §4) would serve an empty O-Cloud
        raise NotReady("no IMS backend is configured (chalicelib/gateway.yaml or NETWEAVE_GATEWAY_CONFIG)")
    missing = [backend for backend in backends if store.manifest(backend) is None]
    if missing and len(missing) == len(backends):
        raise NotReady("none yet")
    if missing:
        raise NotReady(f"none yet for {', '.join(missing)}")


def check_readiness(probes: Iterable[Probe]) -> Readiness:
    checks = [_run(name, probe) for name, probe in probes]
    return Readiness(status="ready" if all(c.ok for c in checks) else "not ready", checks=checks)


def _run(name: str, probe: Callable[[], None]) -> ReadinessCheck:
    try:
        probe()
    except NotReady as verdict:
        return ReadinessCheck(name=name, ok=False, detail=str(verdict))
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
