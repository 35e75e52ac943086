"""`poll_deployments`: compare every idle deployment with its release in the backend, record and announce changes
(DeploymentReady, DeploymentFailed, DeploymentProgressing), and resubmit operations whose queue message was lost.

A backend that lists releases (helm) is asked once per namespace for all the poll's deployments there, instead of
once per deployment (one `helm list` instead of a `helm` subprocess per release); others are asked per deployment.

A deployment an operation holds is the worker's; the poller writes only idle deployments, and only if their status is
still the one it read, so it never overwrites a worker's result. The event is published before that write: a lost
race repeats an event, a crash never loses one.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from chalicelib.adapters.dms.port import DeploymentAdapter, DeploymentRegistry, ReleaseLister, ReleaseStatus
from chalicelib.adapters.store.deployment_store import DeploymentStore
from chalicelib.domain.capabilities import Capability
from chalicelib.domain.deployments import Deployment, DeploymentEventType, DeploymentStatus
from chalicelib.domain.errors import BackendUnavailable, NotFound
from chalicelib.domain.events import ChangeEvent, ChangeType, EventPublisher, EventSource, utc_now_iso
from chalicelib.domain.ownership import DEPLOYMENT_LABEL
from chalicelib.observability import logger
from chalicelib.services.dms_results import observed_state

STUCK_AFTER_SECONDS = 360  # longer than SQS's 5-minute deduplication window, so a resubmission gets through
_POLL_EVENTS = {DeploymentStatus.DEPLOYED: DeploymentEventType.READY, DeploymentStatus.FAILED:
                DeploymentEventType.FAILED, DeploymentStatus.DEPLOYING: DeploymentEventType.PROGRESSING}
_IDLE = (DeploymentStatus.DEPLOYED, DeploymentStatus.FAILED, DeploymentStatus.DEPLOYING)
_POLL_NAMESPACE = uuid.UUID("0d5c3b9e-6a47-5f21-9c8e-3b2a1f0e4d7c")


class OperationQueue(Protocol):
    def submit(self, deployment_id: str, operation_id: str, deduplication_suffix: str = "") -> None: ...


@dataclass
class PollReport:
    checked: int = 0
    changed: int = 0
    unreachable: list[str] = field(default_factory=list)
    resubmitted: int = 0
    failed: list[str] = field(default_factory=list)  # deployments whose refresh hit a bug (logged with its traceback)


@dataclass(frozen=True)
class PollPorts:
    store: DeploymentStore
    registry: DeploymentRegistry
    publisher: EventPublisher
    queue: OperationQueue
    clock: Callable[[], float] = time.time


class _Releases:
    """Each polled deployment's release as its backend shows it now. A `ReleaseLister` is asked once per namespace
    for every polled deployment there; a failure of that one call is every such deployment's failure."""

    def __init__(self, deployments: list[Deployment]) -> None:
        self.names: dict[tuple[str, str], list[str]] = {}
        for deployment in deployments:
            self.names.setdefault((deployment.adapter_id, deployment.namespace), []).append(deployment.name)
        self.listed: dict[tuple[str, str], dict[str, ReleaseStatus] | Exception] = {}

    def status(self, adapter: DeploymentAdapter, deployment: Deployment) -> ReleaseStatus:
        """NotFound if the release does not exist."""
        name, namespace = deployment.name, deployment.namespace
        if not isinstance(adapter, ReleaseLister):
            return adapter.status(name, namespace)
        key = (deployment.adapter_id, namespace)
        if key not in self.listed:
            try:
                self.listed[key] = adapter.statuses(namespace, self.names[key])
            except Exception as error:  # raised again for each deployment there, as its own call would have
                self.listed[key] = error
        found = self.listed[key]
        if isinstance(found, Exception):
            raise found
        if name not in found:
            raise NotFound(f"no release {name} in namespace {namespace}")
        return found[name]


def poll_deployments(ports: PollPorts) -> PollReport:
    report = PollReport()
    unreachable: set[str] = set()
    errors: dict[str, str] = {}
    idle = [d for d in ports.store.all() if not d.active_operation_id and d.status in _IDLE]
    releases = _Releases(idle)
    for deployment in idle:
        if deployment.adapter_id in errors:  # one failed call per backend and poll; its other deployments are marked
            report.changed += _mark_unreachable(ports, deployment, errors[deployment.adapter_id])
            continue
        report.checked += 1
        try:
            changed = _refresh(ports, deployment, releases)
        except BackendUnavailable as error:
            errors[deployment.adapter_id] = error.detail
            logger.warning("deployment backend unreachable", extra={"adapter": deployment.adapter_id,
                                                                      "error": error.detail})
            changed = _mark_unreachable(ports, deployment, error.detail)
        except Exception:  # a bug for one deployment must not stop the poll, nor the resubmission of lost operations
            logger.exception("deployment poll hit a bug", extra={"deploymentId": deployment.deployment_id})
            report.failed.append(deployment.deployment_id)
            continue
        report.changed += changed
    unreachable.update(errors)
    report.unreachable = sorted(unreachable)
    report.resubmitted = resubmit_stuck(ports)
    return report


def _refresh(ports: PollPorts, deployment: Deployment, releases: _Releases) -> bool:
    adapter = ports.registry.get(deployment.adapter_id)
    if Capability.STATUS not in adapter.capabilities:
        return False
    now = utc_now_iso()
    try:
        release = releases.status(adapter, deployment)
        marker = "names another deployment" if release.owner else "is missing"
        reason = None if release.owner == deployment.deployment_id else (
            f"the release {deployment.namespace}/{deployment.name} in the cluster is not this deployment's (its "
            f"{DEPLOYMENT_LABEL} marker {marker}); netweave leaves it alone (docs/dms.md, \"Ownership markers\")")
    except NotFound:
        release, reason = None, "the release no longer exists in the cluster"
    if release is not None and reason is None:
        observed = observed_state(deployment, release, now)
    else:  # a release of that name that is not ours says nothing about this deployment: never record its state
        extensions = {**deployment.extensions, "statusReason": reason}
        observed = deployment.model_copy(update={"status": DeploymentStatus.FAILED, "updated_at": now,
                                                 "extensions": extensions})
    if _same(deployment, observed):
        return False
    if observed.status != deployment.status:  # replica counts and reasons are recorded, only status is announced
        # One id per transition: derived from the state left behind, so re-detecting the same change repeats it.
        identity = f"{deployment.deployment_id}|{deployment.updated_at}|{observed.status}|{observed.revision}"
        ports.publisher.publish([ChangeEvent(
            event_id=str(uuid.uuid5(_POLL_NAMESPACE, identity)), source=EventSource.DMS, object_type="Deployment",
            object_id=deployment.deployment_id, event_type=ChangeType.MODIFIED, backend=deployment.adapter_id,
            prior=deployment.to_wire(), post=observed.to_wire(), at=now,
            detail_type=_POLL_EVENTS[observed.status].value, owner=deployment.owner,
        )])
    return ports.store.observe(observed, deployment.updated_at)


def _mark_unreachable(ports: PollPorts, deployment: Deployment, error: str) -> bool:
    """The deployment keeps its last known state, marked as such (no event: nothing about it is known to change).
    Lists show the mark and warn; the first poll that reaches the backend removes it."""
    if (deployment.extensions.get("backendStatus") or {}).get("reachable") is False:
        return False
    now = utc_now_iso()
    status = {"reachable": False, "error": error[:500], "since": now}
    marked = deployment.model_copy(update={"updated_at": now,
                                           "extensions": {**deployment.extensions, "backendStatus": status}})
    return ports.store.observe(marked, deployment.updated_at)


def _same(before: Deployment, after: Deployment) -> bool:
    keys = ("revision", "replicas", "statusReason", "backendStatus")
    return before.status == after.status and all(before.extensions.get(k) == after.extensions.get(k) for k in keys)


def resubmit_stuck(ports: PollPorts) -> int:
    """Operations whose message is gone — queued for longer than SQS's deduplication window (the send after the
    accepting write was lost), or running under a lease that expired that long ago (the worker died on its last
    attempt and SQS moved the message to the DLQ) — are submitted again. The worker's claim makes this safe, and it
    fails an operation that has used up its attempts."""
    now = ports.clock()
    stalled = [op for op, _ in ports.store.operations_in("queued")
               if now - _epoch(op.created_at) >= STUCK_AFTER_SECONDS]
    stalled += [op for op, lease in ports.store.operations_in("running")
                if lease is not None and now - lease >= STUCK_AFTER_SECONDS]
    for operation in stalled:
        ports.queue.submit(operation.deployment_id, operation.operation_id, f"-{int(now) // STUCK_AFTER_SECONDS}")
    return len(stalled)


def _epoch(timestamp: str) -> float:
    return dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
