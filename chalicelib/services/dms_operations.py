"""`run_dms_operation`: run one accepted deployment operation through its DMS backend, recording progress on the
operation, the outcome on the deployment, and publishing deployment events.

Safe to run twice for one message: the worker first *claims* the operation (queued, or running under an expired
lease because its worker died), so a duplicate delivery while it runs is skipped, and a finished operation is never
run again. Every event of an operation has an id derived from the operation and its phase, so a re-run republishes
identical events (SQS and the SMO deduplicate them). Events are published before the store is written: a crash in
between repeats an event, it never loses one.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from chalicelib.adapters.dms.port import DeploymentAdapter, DeploymentFailed, ReleaseSpec, ReleaseStatus
from chalicelib.adapters.registry import AdapterRegistry, Capability, require
from chalicelib.adapters.store.deployment_store import DeploymentStore
from chalicelib.adapters.store.package_store import PackageStore
from chalicelib.domain.deployments import (
    Deployment,
    DeploymentEventType,
    DeploymentStatus,
    Operation,
    OperationError,
    OperationStatus,
    OperationType,
    event_id,
)
from chalicelib.domain.errors import BackendUnavailable, NetweaveError
from chalicelib.domain.events import ChangeEvent, ChangeType, EventSource, utc_now_iso
from chalicelib.observability import logger

MAX_ATTEMPTS = 3  # matches the queue's maxReceiveCount: the last attempt records the failure before redrive
LEASE_MARGIN_SECONDS = 120
DEFAULT_TIMEOUT_SECONDS = 300

_SUCCESS_EVENTS = {
    OperationType.CREATE: DeploymentEventType.READY, OperationType.UPDATE: DeploymentEventType.UPGRADED,
    OperationType.UPGRADE: DeploymentEventType.UPGRADED, OperationType.SCALE: DeploymentEventType.SCALED,
    OperationType.ROLLBACK: DeploymentEventType.ROLLED_BACK, OperationType.DELETE: DeploymentEventType.DELETED,
}
_NEEDS = {
    OperationType.CREATE: Capability.DEPLOY, OperationType.UPDATE: Capability.UPGRADE,
    OperationType.UPGRADE: Capability.UPGRADE, OperationType.SCALE: Capability.SCALE,
    OperationType.ROLLBACK: Capability.ROLLBACK, OperationType.DELETE: Capability.DEPLOY,
}


class EventPublisher(Protocol):
    def publish(self, events: list[ChangeEvent]) -> int: ...


@dataclass(frozen=True)
class OperationPorts:
    store: DeploymentStore
    packages: PackageStore
    registry: AdapterRegistry
    publisher: EventPublisher
    clock: Callable[[], float] = time.time
    work_dir: str = field(default_factory=tempfile.gettempdir)


class Run:
    """One run of one operation: its current records and how to write them."""

    def __init__(self, ports: OperationPorts, operation: Operation, deployment: Deployment) -> None:
        self.ports, self.operation, self.deployment = ports, operation, deployment

    def progress(self, message: str) -> None:
        self.operation = self.operation.with_progress(utc_now_iso(), message)
        self.ports.store.save_operation(self.operation)

    def publish(self, phase: str, detail: DeploymentEventType, prior: Deployment | None,
                post: Deployment | None) -> None:
        change = (ChangeType.DELETED if post is None else
                  ChangeType.CREATED if detail is DeploymentEventType.CREATED else ChangeType.MODIFIED)
        self.ports.publisher.publish([ChangeEvent(
            event_id=event_id(self.operation.operation_id, phase), source=EventSource.DMS, object_type="Deployment",
            object_id=self.deployment.deployment_id, event_type=change, backend=self.deployment.adapter_id,
            prior=prior.to_wire() if prior else None, post=post.to_wire() if post else None, at=utc_now_iso(),
            detail_type=detail.value,
        )])


def run_operation(ports: OperationPorts, operation_id: str) -> str:
    """Run one operation; answers what happened (for the log): succeeded, failed, skipped, or raises to be retried."""
    operation = ports.store.get_operation(operation_id)
    if operation is None or operation.status.finished:
        return "skipped"
    deployment = ports.store.get(operation.deployment_id)
    if deployment is None or deployment.active_operation_id != operation.operation_id:
        _abandon(ports, operation, "the deployment no longer exists or is held by another operation")
        return "failed"
    timeout = int(operation.parameters.get("timeoutSeconds") or DEFAULT_TIMEOUT_SECONDS)
    now = int(ports.clock())
    claimed = operation.model_copy(update={
        "status": OperationStatus.RUNNING, "attempts": operation.attempts + 1,
        "started_at": operation.started_at or utc_now_iso(), "lease_until": now + timeout + LEASE_MARGIN_SECONDS,
    })
    if not ports.store.claim_operation(claimed, now):
        return "skipped"
    run = Run(ports, claimed.with_progress(utc_now_iso(), f"attempt {claimed.attempts} started"), deployment)
    return _run(run, timeout)


def _run(run: Run, timeout: int) -> str:
    operation = run.operation
    try:
        adapter: DeploymentAdapter = run.ports.registry.get(run.deployment.adapter_id)  # type: ignore[assignment]
        require(adapter, _NEEDS[operation.operation_type])
        _announce_start(run)
        outcome = _execute(run, adapter, timeout)
    except NetweaveError as error:
        if isinstance(error, BackendUnavailable) and operation.attempts < MAX_ATTEMPTS:
            run.progress(f"backend unavailable, will retry: {error.detail}")
            raise
        _fail(run, error)
        return "failed"
    except Exception as error:
        if run.operation.attempts < MAX_ATTEMPTS:
            run.progress(f"attempt {run.operation.attempts} failed unexpectedly ({type(error).__name__}); retrying")
            raise
        _fail(run, NetweaveError(f"internal error after {run.operation.attempts} attempts: {type(error).__name__}"))
        return "failed"
    _succeed(run, outcome)
    return "succeeded"


def _announce_start(run: Run) -> None:
    deployment, operation = run.deployment, run.operation
    status = DeploymentStatus.DELETING if operation.operation_type is OperationType.DELETE else \
        DeploymentStatus.DEPLOYING
    started = deployment.model_copy(update={"status": status, "updated_at": utc_now_iso()})
    detail = DeploymentEventType.CREATED if operation.operation_type is OperationType.CREATE else \
        DeploymentEventType.PROGRESSING
    run.publish("start", detail, None if operation.operation_type is OperationType.CREATE else deployment, started)
    run.ports.store.save_progress(started, operation.operation_id)
    run.deployment = started


@dataclass(frozen=True)
class Outcome:
    release: ReleaseStatus | None  # None: uninstalled
    package_id: str
    package_version: str
    values: dict[str, Any]


def _execute(run: Run, adapter: DeploymentAdapter, timeout: int) -> Outcome:
    operation, deployment = run.operation, run.deployment
    params, kind = operation.parameters, operation.operation_type
    name, namespace = deployment.name, deployment.namespace
    if kind is OperationType.DELETE:
        run.progress(f"uninstalling release {namespace}/{name} (timeout {timeout} s)")
        adapter.uninstall(name, namespace, timeout)
        return Outcome(None, deployment.package_id, deployment.package_version, deployment.values)
    if kind is OperationType.SCALE:
        replicas = int(params["replicas"])
        run.progress(f"scaling release {namespace}/{name} to {replicas} replicas (timeout {timeout} s)")
        release = adapter.scale(name, namespace, replicas, timeout)
        values = {**deployment.values, "replicaCount": replicas}
        return Outcome(release, deployment.package_id, deployment.package_version, values)
    if kind is OperationType.ROLLBACK:
        return _rollback(run, adapter, timeout)
    package_id = str(params.get("packageId") or deployment.package_id)
    values = params["values"] if params.get("values") is not None else deployment.values
    package = run.ports.packages.get(package_id)
    if package is None:
        raise DeploymentFailed(f"deployment package '{package_id}' no longer exists")
    run.progress(f"fetching package {package.name} {package.version} ({package.checksum})")
    chart = Path(run.ports.work_dir) / f"netweave-chart-{package.digest}.tgz"
    chart.write_bytes(run.ports.packages.read_archive(package.digest))
    try:
        spec = ReleaseSpec(name, namespace, str(chart), values, timeout)
        verb = "installing" if kind is OperationType.CREATE else "upgrading"
        run.progress(f"{verb} release {namespace}/{name} with {package.name} {package.version} "
                     f"(waiting up to {timeout} s for readiness)")
        release = adapter.install(spec) if kind is OperationType.CREATE else adapter.upgrade(spec)
    finally:
        chart.unlink(missing_ok=True)
    return Outcome(release, package.package_id, package.version, values)


def _rollback(run: Run, adapter: DeploymentAdapter, timeout: int) -> Outcome:
    deployment, params = run.deployment, run.operation.parameters
    target = params.get("revision")
    revisions = [r.revision for r in adapter.history(deployment.name, deployment.namespace)]
    if target is None:
        # Resolved once and recorded, so a re-run rolls back to the same revision, not to the one before that.
        current = revisions[-1] if revisions else 0
        if current < 2:
            raise DeploymentFailed("rollback: the release has no earlier revision to roll back to")
        target = current - 1
        run.operation = run.operation.model_copy(update={"parameters": {**params, "revision": target}})
    elif int(target) not in revisions:
        raise DeploymentFailed(f"rollback: revision {target} does not exist; revisions: "
                               + ", ".join(map(str, revisions)))
    run.progress(f"rolling back release {deployment.namespace}/{deployment.name} to revision {target} "
                 f"(timeout {timeout} s)")
    release = adapter.rollback(deployment.name, deployment.namespace, int(target), timeout)
    recorded = {r["revision"]: r for r in run.ports.store.revisions(deployment.deployment_id)}.get(int(target))
    if recorded is None:  # made outside netweave: keep what the deployment says
        return Outcome(release, deployment.package_id, deployment.package_version, deployment.values)
    return Outcome(release, recorded["packageId"], recorded["packageVersion"], recorded["values"])


def _succeed(run: Run, outcome: Outcome) -> None:
    operation, deployment, finished = run.operation, run.deployment, utc_now_iso()
    kind = operation.operation_type
    if outcome.release is None:
        done = operation.model_copy(update={"status": OperationStatus.SUCCEEDED, "finished_at": finished,
                                            "result": {"status": "deleted"}})
        run.operation = done.with_progress(finished, "release uninstalled")
        run.publish("done", DeploymentEventType.DELETED, deployment, None)
        run.ports.store.remove(deployment, run.operation)
        return
    release = outcome.release
    run.ports.store.record_revision(deployment.deployment_id, release.revision, outcome.package_id,
                                    outcome.package_version, outcome.values, operation.operation_id)
    status = DeploymentStatus.DEPLOYED if release.ready else DeploymentStatus.DEPLOYING
    updated = _observed(deployment, release, status, finished, operation.operation_id).model_copy(update={
        "package_id": outcome.package_id, "package_version": outcome.package_version, "values": outcome.values})
    summary = f"release revision {release.revision} {release.status}; {_readiness(release)}"
    done = operation.model_copy(update={"status": OperationStatus.SUCCEEDED, "finished_at": finished,
                                        "result": {"revision": release.revision, "status": status.value}})
    run.operation = done.with_progress(finished, summary)
    run.publish("done", _SUCCESS_EVENTS[kind], deployment, updated)
    run.ports.store.finish(updated, run.operation)


def _fail(run: Run, error: NetweaveError) -> None:
    operation, deployment, finished = run.operation, run.deployment, utc_now_iso()
    logger.warning("dms operation failed", extra={"operationId": operation.operation_id, "error": error.detail})
    reason = f"{operation.operation_type.value} failed: {error.detail}"
    extensions = {k: v for k, v in deployment.extensions.items() if k != "activeOperationId"}
    updated = deployment.model_copy(update={
        "status": DeploymentStatus.FAILED, "updated_at": finished,
        "extensions": {**extensions, "statusReason": reason[:2000], "lastOperationId": operation.operation_id}})
    done = operation.model_copy(update={
        "status": OperationStatus.FAILED, "finished_at": finished,
        "error": OperationError(title=error.title, status=error.status, detail=error.detail[:4000])})
    run.operation = done.with_progress(finished, f"failed: {error.detail[:500]}")
    run.publish("done", DeploymentEventType.FAILED, deployment, updated)
    run.ports.store.finish(updated, run.operation)


def _abandon(ports: OperationPorts, operation: Operation, reason: str) -> None:
    finished = utc_now_iso()
    ports.store.save_operation(operation.model_copy(update={
        "status": OperationStatus.FAILED, "finished_at": finished,
        "error": OperationError(title="Conflict", status=409, detail=reason)}).with_progress(finished, reason))


def _observed(deployment: Deployment, release: ReleaseStatus, status: DeploymentStatus, at: str,
              operation_id: str | None) -> Deployment:
    """The deployment as the backend last showed it; the lock is released (no active operation)."""
    extensions = {k: v for k, v in deployment.extensions.items() if k not in ("activeOperationId", "statusReason")}
    extensions.update(revision=release.revision, replicas=_replicas(release))
    if operation_id:
        extensions["lastOperationId"] = operation_id
    if status is not DeploymentStatus.DEPLOYED:
        extensions["statusReason"] = f"release {release.status}; {_readiness(release)}"
    return deployment.model_copy(update={"status": status, "updated_at": at, "extensions": extensions})


def observed_state(deployment: Deployment, release: ReleaseStatus, at: str) -> Deployment:
    """For the poller: what the release shows now, mapped onto the deployment's status."""
    status = (DeploymentStatus.DEPLOYED if release.ready else
              DeploymentStatus.FAILED if release.status == "failed" else DeploymentStatus.DEPLOYING)
    return _observed(deployment, release, status, at, None)


def _replicas(release: ReleaseStatus) -> dict[str, int]:
    return {"desired": sum(w.desired for w in release.workloads), "ready": sum(w.ready for w in release.workloads)}


def _readiness(release: ReleaseStatus) -> str:
    replicas = _replicas(release)
    text = f"{replicas['ready']}/{replicas['desired']} replicas ready"
    waiting = [f"{p.name}: {p.reason}" for p in release.pods if not p.ready and p.reason]
    return text + (f" (not ready: {'; '.join(waiting[:5])})" if waiting else "")
