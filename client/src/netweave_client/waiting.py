"""Waiting for an asynchronous change to finish: a DMS operation (`queued → running → succeeded | failed`), a
resource pool (`extensions.status` `provisioning`/`resizing → ready | failed`, docs/subscriptions.md "Waiting for a
pool to be ready") or a provisioning request (`PENDING → PROGRESSING → FULFILLED | FAILED`, `DELETING → 404`,
docs/provisioning.md "Phases"). The verdicts are shared; the two loops differ only in how they sleep and fetch."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from netweave_client.errors import NotFound, OperationFailed, PoolFailed, ProvisioningFailed, WaitTimeout
from netweave_client.models import (
    Operation,
    OperationStatus,
    ProvisioningPhase,
    ProvisioningRequestInfo,
    ResourcePool,
)

T = TypeVar("T")
Progress = Callable[[T], None]


@dataclass(frozen=True)
class WaitPlan:
    timeout: float = 600.0
    interval: float = 2.0


def operation_done(operation: Operation) -> bool:
    """True when it succeeded; raises OperationFailed when it failed; False while it runs."""
    if operation.status is OperationStatus.FAILED:
        raise OperationFailed(operation)
    return operation.status is OperationStatus.SUCCEEDED


def pool_ready(expect_nodes: int | None) -> Callable[[ResourcePool | None], bool]:
    """Ready means `status: ready` with every desired node ready (and as many as expected, after a resize: until the
    next poll the stored pool can still show the old, ready size). A pool not yet visible (None: its creation is
    stored by the backend's next poll) is still pending."""

    def judge(pool: ResourcePool | None) -> bool:
        if pool is None:
            return False
        extensions = pool.extensions or {}
        if extensions.get("status") == "failed":
            raise PoolFailed(pool)
        ready, desired = extensions.get("readyNodes"), extensions.get("desiredNodes")
        if extensions.get("status") != "ready" or ready != desired:
            return False
        return expect_nodes is None or desired == expect_nodes

    return judge


def pool_gone(pool: ResourcePool | None) -> bool:
    if pool is not None and (pool.extensions or {}).get("status") == "failed":
        raise PoolFailed(pool)
    return pool is None


GONE = "GONE"  # the phase a deleted request reaches: it answers 404


def provisioning_reached(phase: str) -> Callable[[ProvisioningRequestInfo | None], bool]:
    """True once the request is in `phase` (None, a 404, is GONE's); FAILED raises ProvisioningFailed unless it is
    the phase waited for: the request will not move again until it is PUT."""
    if phase != GONE and phase not in set(ProvisioningPhase):
        raise ValueError(f"phase {phase!r}: expected one of {', '.join([*ProvisioningPhase, GONE])}")

    def judge(request: ProvisioningRequestInfo | None) -> bool:
        if request is None:
            return phase == GONE
        current = request.status.provisioning_phase
        if current is ProvisioningPhase.FAILED and phase != current.value:
            raise ProvisioningFailed(request)
        return current.value == phase

    return judge


def wait_sync(fetch: Callable[[], T], done: Callable[[T], bool], what: str, plan: WaitPlan,
              progress: Progress[T] | None = None, sleep: Callable[[float], None] = time.sleep,
              clock: Callable[[], float] = time.monotonic) -> T:
    deadline, last = clock() + plan.timeout, None
    while True:
        last = fetch()
        if progress is not None:
            progress(last)
        if done(last):
            return last
        if clock() >= deadline:
            raise WaitTimeout(what, plan.timeout, last)
        sleep(plan.interval)


async def wait_async(fetch: Callable[[], Awaitable[T]], done: Callable[[T], bool], what: str, plan: WaitPlan,
                     progress: Progress[T] | None = None,
                     sleep: Callable[[float], Awaitable[None]] | None = None,
                     clock: Callable[[], float] = time.monotonic) -> T:
    import asyncio

    pause = sleep or asyncio.sleep
    deadline = clock() + plan.timeout
    while True:
        last = await fetch()
        if progress is not None:
            progress(last)
        if done(last):
            return last
        if clock() >= deadline:
            raise WaitTimeout(what, plan.timeout, last)
        await pause(plan.interval)


def missing_as_none(fetch: Callable[[], T]) -> Callable[[], T | None]:
    def fetched() -> T | None:
        try:
            return fetch()
        except NotFound:
            return None

    return fetched


def missing_as_none_async(fetch: Callable[[], Awaitable[T]]) -> Callable[[], Awaitable[T | None]]:
    async def fetched() -> T | None:
        try:
            return await fetch()
        except NotFound:
            return None

    return fetched


def provisioning_fetch(fetch: Callable[[], T], phase: str) -> Callable[[], T | None]:
    """Waiting for GONE, a 404 is the answer; waiting for any other phase, it is an error (the request was deleted)."""
    return missing_as_none(fetch) if phase == GONE else fetch


def provisioning_fetch_async(fetch: Callable[[], Awaitable[T]], phase: str) -> Callable[[], Awaitable[T | None]]:
    return missing_as_none_async(fetch) if phase == GONE else fetch
