"""How a DMS operation's run is recorded: its progress, its outcome on the deployment and the operation, and the
deployment events that announce it. Events are published before the store is written: a crash in between repeats
an event (same id), it never loses one."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalicelib.adapters.dms.port import DeploymentRegistry, ReleaseStatus
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
from chalicelib.domain.errors import NetweaveError
from chalicelib.domain.events import ChangeEvent, ChangeType, EventPublisher, EventSource, utc_now_iso
from chalicelib.observability import logger

SUCCESS_EVENTS = {
    OperationType.CREATE: DeploymentEventType.READY, OperationType.UPDATE: DeploymentEventType.UPGRADED,
    OperationType.UPGRADE: DeploymentEventType.UPGRADED, OperationType.SCALE: DeploymentEventType.SCALED,
    OperationType.ROLLBACK: DeploymentEventType.ROLLED_BACK, OperationType.DELETE: DeploymentEventType.DELETED,
}
# An upgrade to another template version carries the template record to write once it succeeds (services/
# deployments_from_templates.py); ROLLBACK_ON_FAILURE (an operation parameter, else the deployment's extension) asks
# the backend to undo a failed upgrade itself (helm --atomic).
TEMPLATE_RECORD, ROLLBACK_ON_FAILURE = "template", "rollbackOnFailure"
_STATUS_EVENTS = {DeploymentStatus.DEPLOYED: DeploymentEventType.READY, DeploymentStatus.FAILED:
                  DeploymentEventType.FAILED}


@dataclass(frozen=True)
class OperationPorts:
    store: DeploymentStore
    packages: PackageStore
    registry: DeploymentRegistry
    publisher: EventPublisher
    clock: Callable[[], float] = time.time
    work_dir: str = field(default_factory=tempfile.gettempdir)


@dataclass(frozen=True)
class Plan:
    """What an operation will install: decided (and checked) before anything in the cluster changes."""

    package_id: str
    package_version: str
    values: dict[str, Any]
    revision: int | None = None  # rollback target


@dataclass(frozen=True)
class Outcome:
    release: ReleaseStatus | None  # None: uninstalled
    plan: Plan


class Run:
    """One run of one operation: its current records and how to write them."""

    def __init__(self, ports: OperationPorts, operation: Operation, deployment: Deployment) -> None:
        self.ports, self.operation, self.deployment = ports, operation, deployment
        self.prior = deployment  # the deployment as the operation found it

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
            detail_type=detail.value, owner=self.deployment.owner,
        )])

    def finished(self, status: OperationStatus, message: str, **changes: Any) -> Operation:
        at = utc_now_iso()
        done = self.operation.model_copy(update={"status": status, "finished_at": at, **changes})
        self.operation = done.with_progress(at, message)
        return self.operation


def announce_start(run: Run) -> None:
    deployment, operation = run.deployment, run.operation
    deleting = operation.operation_type is OperationType.DELETE
    status = DeploymentStatus.DELETING if deleting else DeploymentStatus.DEPLOYING
    started = deployment.model_copy(update={"status": status, "updated_at": utc_now_iso()})
    creating = operation.operation_type is OperationType.CREATE
    detail = DeploymentEventType.CREATED if creating else DeploymentEventType.PROGRESSING
    run.publish("start", detail, None if creating else deployment, started)
    run.ports.store.save_progress(started, operation.operation_id)
    run.deployment = started


def succeed(run: Run, outcome: Outcome) -> None:
    operation, deployment, plan = run.operation, run.deployment, outcome.plan
    if outcome.release is None:
        run.finished(OperationStatus.SUCCEEDED, "release uninstalled", result={"status": "deleted"})
        run.publish("done", DeploymentEventType.DELETED, deployment, None)
        run.ports.store.remove(deployment, run.operation)
        return
    release = outcome.release
    run.ports.store.record_revision(deployment.deployment_id, release.revision, plan.package_id,
                                    plan.package_version, plan.values, operation.operation_id)
    status = DeploymentStatus.DEPLOYED if release.ready else DeploymentStatus.DEPLOYING
    updated = observed(deployment, release, status, utc_now_iso(), operation.operation_id).model_copy(update={
        "package_id": plan.package_id, "package_version": plan.package_version, "values": plan.values})
    record = operation.parameters.get(TEMPLATE_RECORD)
    if record:  # now at the new template version: its record replaces the old one (rollbackOnFailure included)
        kept = {k: v for k, v in updated.extensions.items() if k != ROLLBACK_ON_FAILURE}
        updated = updated.model_copy(update={"extensions": {**kept, **record}})
    run.finished(OperationStatus.SUCCEEDED, f"release revision {release.revision} {release.status}; "
                 f"{readiness(release)}", result={"revision": release.revision, "status": status.value})
    run.publish("done", SUCCESS_EVENTS[operation.operation_type], deployment, updated)
    run.ports.store.finish(updated, run.operation)


def fail(run: Run, error: NetweaveError, release: ReleaseStatus | None = None, plan: Plan | None = None) -> None:
    """The operation failed after it started changing the release: the deployment is failed. `release` (if the
    backend could still tell) records the revision the failure left behind."""
    operation, deployment, at = run.operation, run.deployment, utc_now_iso()
    logger.warning("dms operation failed", extra={"operationId": operation.operation_id, "error": error.detail})
    updated, status, reason = deployment, DeploymentStatus.FAILED, f"{operation.operation_type.value} failed: "
    if release is not None and rolled_back(run, release):
        # the backend undid the upgrade: the new revision holds the prior content, and runs
        plan = Plan(run.prior.package_id, run.prior.package_version, run.prior.values)
        status, reason = DeploymentStatus.DEPLOYED, f"{reason}rolled back (rollbackOnFailure): "
    if release is not None:
        updated = observed(deployment, release, status, at, operation.operation_id)
        if plan is not None and release.revision != deployment.revision:
            run.ports.store.record_revision(deployment.deployment_id, release.revision, plan.package_id,
                                            plan.package_version, plan.values, operation.operation_id)
    reason += error.detail
    extensions = {k: v for k, v in updated.extensions.items() if k != "activeOperationId"}
    updated = updated.model_copy(update={
        "status": status, "updated_at": at,
        "extensions": {**extensions, "statusReason": reason[:2000], "lastOperationId": operation.operation_id}})
    run.finished(OperationStatus.FAILED, f"failed: {error.detail[:500]}", error=_error(error))
    run.publish("done", _STATUS_EVENTS[status], deployment, updated)
    run.ports.store.finish(updated, run.operation)


def rolls_back_on_failure(run: Run) -> bool:
    """Whether this upgrade asks the backend to undo itself on failure (docs/dms.md, "Deployments from templates")."""
    if run.operation.operation_type not in (OperationType.UPGRADE, OperationType.UPDATE):
        return False
    return bool(run.operation.parameters.get(ROLLBACK_ON_FAILURE, run.prior.extensions.get(ROLLBACK_ON_FAILURE)))


def rolled_back(run: Run, release: ReleaseStatus) -> bool:
    return rolls_back_on_failure(run) and release.status == "deployed"


def refuse(run: Run, error: NetweaveError) -> None:
    """The operation could not start (bad revision, package gone, capability missing, the backend said no): nothing
    in the cluster changed, so the deployment keeps its status; only the lock is released. If the start was already
    announced, the restored state is announced too, so subscribers do not wait for an end that never comes."""
    logger.info("dms operation refused", extra={"operationId": run.operation.operation_id, "error": error.detail})
    extensions = {k: v for k, v in run.prior.extensions.items() if k != "activeOperationId"}
    released = run.prior.model_copy(update={"extensions": extensions})
    run.finished(OperationStatus.FAILED, f"refused: {error.detail[:500]}", error=_error(error))
    if run.deployment is not run.prior:
        detail = _STATUS_EVENTS.get(released.status, DeploymentEventType.PROGRESSING)
        run.publish("done", detail, run.deployment, released)
    run.ports.store.finish(released, run.operation)


def abandon(ports: OperationPorts, operation: Operation, reason: str) -> None:
    finished = utc_now_iso()
    ports.store.save_operation(operation.model_copy(update={
        "status": OperationStatus.FAILED, "finished_at": finished,
        "error": OperationError(title="Conflict", status=409, detail=reason)}).with_progress(finished, reason))


def _error(error: NetweaveError) -> OperationError:
    return OperationError(title=error.title, status=error.status, detail=error.detail[:4000])


def observed(deployment: Deployment, release: ReleaseStatus, status: DeploymentStatus, at: str,
             operation_id: str | None) -> Deployment:
    """The deployment as the backend last showed it; the lock is released (no active operation)."""
    extensions = {k: v for k, v in deployment.extensions.items()
                  if k not in ("activeOperationId", "statusReason", "backendStatus")}  # the backend answered
    extensions.update(revision=release.revision, replicas=replicas(release), **release.details)
    if operation_id:
        extensions["lastOperationId"] = operation_id
    if status is not DeploymentStatus.DEPLOYED:
        extensions["statusReason"] = f"release {release.status}; {readiness(release)}"
    return deployment.model_copy(update={"status": status, "updated_at": at, "extensions": extensions})


def observed_state(deployment: Deployment, release: ReleaseStatus, at: str) -> Deployment:
    """For the poller: what the release shows now, mapped onto the deployment's status."""
    status = (DeploymentStatus.DEPLOYED if release.ready else
              DeploymentStatus.FAILED if release.status == "failed" else DeploymentStatus.DEPLOYING)
    if status is DeploymentStatus.DEPLOYING and deployment.status is DeploymentStatus.FAILED:
        # A failure stands until the release is ready again: ArgoCD reports crash-looping pods as Progressing for
        # as long as the progress deadline, which is no news to an SMO already told the deployment failed.
        status = DeploymentStatus.FAILED
    return observed(deployment, release, status, at, None)


def replicas(release: ReleaseStatus) -> dict[str, int]:
    return {"desired": sum(w.desired for w in release.workloads), "ready": sum(w.ready for w in release.workloads)}


def readiness(release: ReleaseStatus) -> str:
    counts = replicas(release)
    text = f"{counts['ready']}/{counts['desired']} replicas ready"
    said: set[str] = set()
    waiting = [f"{p.name}: {p.reason}{p.message_once(said)}" for p in release.pods if not p.ready and p.reason][:5]
    return text + (f" (not ready: {'; '.join(waiting)})" if waiting else "")
