"""poll_deployments through fakes: idle deployments follow their release (readiness lost and regained, release
failed or gone) with one event per status transition, and replica or reason changes recorded without one; locked
deployments are the worker's, and an operation that came and went while the poller waited is never overwritten; an
unreachable backend is reported and not hammered; operations whose message was lost (queued too long, or running
under a lease that expired long ago) are resubmitted, and one that used up its attempts then fails."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from botocore.exceptions import EndpointConnectionError

from chalicelib import resources
from chalicelib.adapters.dms.port import ReleaseStatus
from chalicelib.domain.deployments import DeploymentEventType, DeploymentStatus, OperationStatus, OperationType
from chalicelib.domain.events import ChangeType
from chalicelib.domain.packages import DeploymentPackage
from chalicelib.services.deployment_poll import STUCK_AFTER_SECONDS, PollReport, poll_deployments
from chalicelib.services.dms_operations import LEASE_MARGIN_SECONDS, MAX_ATTEMPTS, UNSPECIFIED_TIMEOUT_LEASE
from tests.unit.fakes.deployments import DmsWorld
from tests.unit.fakes.dms import FakeDeploymentAdapter

NAMESPACE = "oran-du"
LEASE = UNSPECIFIED_TIMEOUT_LEASE + LEASE_MARGIN_SECONDS  # a worker's lease without timeoutSeconds
VISIBILITY = resources.DMS_OPERATIONS.visibility_timeout_seconds


class ClusterAdapter(FakeDeploymentAdapter):
    """The fake backend plus what happens in a cluster between operations: pods of a release lose readiness
    (`not_ready`, for `reason`), and something can happen while the poller waits for a status
    (`during_next_status`)."""

    def __init__(self, adapter_id: str = "fake-dms") -> None:
        super().__init__(adapter_id)
        self.not_ready: set[str] = set()
        self.reason = "CrashLoopBackOff"
        self.during_next_status: Callable[[], None] | None = None

    def status(self, name: str, namespace: str) -> ReleaseStatus:
        if self.during_next_status is not None:
            meanwhile, self.during_next_status = self.during_next_status, None
            meanwhile()
        status = super().status(name, namespace)
        if name not in self.not_ready:
            return status
        return replace(status, workloads=[replace(w, ready=0, available=0) for w in status.workloads],
                       pods=[replace(p, ready=False, reason=self.reason) for p in status.pods])


@pytest.fixture()
def adapter() -> ClusterAdapter:
    return ClusterAdapter()


@pytest.fixture()
def world(tmp_path: Path, adapter: ClusterAdapter) -> DmsWorld:
    return DmsWorld(tmp_path, adapters=[adapter])


@pytest.fixture()
def v1(world: DmsWorld) -> DeploymentPackage:
    return world.packages.add("vdu", "1.0.0")


def poll(world: DmsWorld) -> PollReport:
    return poll_deployments(world.poll_ports())


def status_calls(adapter: FakeDeploymentAdapter) -> list[str]:
    return [name for call, _, name in adapter.calls if call == "status"]


def test_a_release_losing_readiness_is_progressing_until_it_is_ready_again(
        world: DmsWorld, adapter: ClusterAdapter, v1: DeploymentPackage) -> None:
    deployment = world.deployed("du-1", v1, {"replicaCount": 2})
    world.publisher.events.clear()

    adapter.not_ready.add("du-1")
    report = poll(world)

    assert (report.checked, report.changed, report.unreachable) == (1, 1, [])
    degraded = world.current(deployment.deployment_id)
    assert degraded.status is DeploymentStatus.DEPLOYING and degraded.active_operation_id is None
    assert degraded.extensions["replicas"] == {"desired": 2, "ready": 0}
    assert degraded.extensions["statusReason"].startswith("release deployed; 0/2 replicas ready (not ready: du-1-0:")
    [progressing] = world.publisher.events
    assert progressing.detail_type == DeploymentEventType.PROGRESSING.value
    assert progressing.event_type is ChangeType.MODIFIED and progressing.object_id == deployment.deployment_id
    assert progressing.prior is not None and progressing.prior["status"] == "deployed"
    assert progressing.post is not None and progressing.post["status"] == "deploying"

    assert poll(world).changed == 0 and len(world.publisher.events) == 1  # no change, no event

    adapter.not_ready.clear()
    assert poll(world).changed == 1

    recovered = world.current(deployment.deployment_id)
    assert recovered.status is DeploymentStatus.DEPLOYED and "statusReason" not in recovered.extensions
    assert recovered.extensions["replicas"] == {"desired": 2, "ready": 2}
    ready = world.publisher.events[-1]
    assert ready.detail_type == DeploymentEventType.READY.value and ready.event_id != progressing.event_id
    assert len(world.publisher.events) == 2


def test_replica_and_reason_changes_are_recorded_without_an_event(
        world: DmsWorld, adapter: ClusterAdapter, v1: DeploymentPackage) -> None:
    deployment = world.deployed("du-1", v1, {"replicaCount": 2})
    world.publisher.events.clear()
    adapter.releases[(NAMESPACE, "du-1")].current.values["replicaCount"] = 3  # scaled outside netweave

    assert poll(world).changed == 1

    rescaled = world.current(deployment.deployment_id)
    assert rescaled.status is DeploymentStatus.DEPLOYED and rescaled.extensions["replicas"] == {"desired": 3,
                                                                                                 "ready": 3}
    assert world.publisher.events == []

    adapter.not_ready.add("du-1")
    assert poll(world).changed == 1
    assert [e.detail_type for e in world.publisher.events] == [DeploymentEventType.PROGRESSING.value]

    adapter.reason = "ImagePullBackOff"
    assert poll(world).changed == 1
    waiting = world.current(deployment.deployment_id)
    assert waiting.status is DeploymentStatus.DEPLOYING and "ImagePullBackOff" in waiting.extensions["statusReason"]
    assert len(world.publisher.events) == 1  # the reason changed, the status did not

    adapter.not_ready.clear()
    assert poll(world).changed == 1
    assert [e.detail_type for e in world.publisher.events] == [DeploymentEventType.PROGRESSING.value,
                                                               DeploymentEventType.READY.value]


def test_a_failed_release_fails_the_deployment_with_its_reason(
        world: DmsWorld, adapter: ClusterAdapter, v1: DeploymentPackage) -> None:
    deployment = world.deployed("du-1", v1)
    world.publisher.events.clear()
    adapter.releases[(NAMESPACE, "du-1")].current.state = "failed"

    assert poll(world).changed == 1

    failed = world.current(deployment.deployment_id)
    assert failed.status is DeploymentStatus.FAILED
    assert failed.extensions["statusReason"].startswith("release failed; 0/1 replicas ready")
    [event] = world.publisher.events
    assert event.detail_type == DeploymentEventType.FAILED.value
    assert event.post is not None and event.post["extensions"]["statusReason"] == failed.extensions["statusReason"]


def test_a_failed_deployment_stays_failed_while_its_release_is_still_progressing(
        world: DmsWorld, adapter: ClusterAdapter, v1: DeploymentPackage) -> None:
    deployment = world.deployed("du-1", v1)
    adapter.releases[(NAMESPACE, "du-1")].current.state = "failed"
    poll(world)
    world.publisher.events.clear()
    # ArgoCD's view of crash-looping pods after the operation gave up: not failed, just not ready (yet)
    adapter.releases[(NAMESPACE, "du-1")].current.state = "pending-upgrade"
    adapter.not_ready.add("du-1")

    poll(world)

    still = world.current(deployment.deployment_id)
    assert still.status is DeploymentStatus.FAILED and world.publisher.events == []
    assert "CrashLoopBackOff" in still.extensions["statusReason"]

    adapter.not_ready.clear()
    adapter.releases[(NAMESPACE, "du-1")].current.state = "deployed"
    poll(world)
    assert world.current(deployment.deployment_id).status is DeploymentStatus.DEPLOYED
    assert [e.detail_type for e in world.publisher.events] == [DeploymentEventType.READY.value]


def test_a_release_gone_from_the_cluster_fails_the_deployment_once(
        world: DmsWorld, adapter: ClusterAdapter, v1: DeploymentPackage) -> None:
    deployment = world.deployed("du-1", v1)
    world.publisher.events.clear()
    del adapter.releases[(NAMESPACE, "du-1")]

    assert poll(world).changed == 1
    assert poll(world).changed == 0

    gone = world.current(deployment.deployment_id)
    assert gone.status is DeploymentStatus.FAILED
    assert gone.extensions["statusReason"] == "the release no longer exists in the cluster"
    assert [e.detail_type for e in world.publisher.events] == [DeploymentEventType.FAILED.value]


def test_an_unchanged_release_publishes_nothing(world: DmsWorld, adapter: ClusterAdapter,
                                                v1: DeploymentPackage) -> None:
    deployment = world.deployed("du-1", v1)
    world.publisher.events.clear()
    before = world.current(deployment.deployment_id)

    assert poll(world) == PollReport(checked=1, changed=0, unreachable=[], resubmitted=0)

    assert world.publisher.events == [] and world.current(deployment.deployment_id) == before


def test_deployments_an_operation_holds_are_left_to_the_worker(
        world: DmsWorld, adapter: ClusterAdapter, v1: DeploymentPackage) -> None:
    idle = world.deployed("du-idle", v1)
    busy = world.deployed("du-busy", v1)
    operation = world.accept(busy.deployment_id, OperationType.SCALE, {"replicas": 3})
    _, creating = world.accept_create("du-new", v1)
    held = world.current(busy.deployment_id)
    adapter.calls.clear()
    world.publisher.events.clear()
    adapter.not_ready.update({"du-idle", "du-busy"})

    report = poll(world)

    assert status_calls(adapter) == ["du-idle"] and report.checked == 1
    assert world.current(busy.deployment_id) == held
    assert world.current(busy.deployment_id).active_operation_id == operation.operation_id
    assert world.operation(creating.operation_id).status is OperationStatus.QUEUED
    assert [e.object_id for e in world.publisher.events] == [idle.deployment_id]
    assert report.resubmitted == 0  # both operations were queued just now


def test_an_unreachable_backend_is_reported_once_and_its_other_deployments_skipped(tmp_path: Path) -> None:
    down, up = ClusterAdapter("dms-down"), ClusterAdapter("dms-up")
    world = DmsWorld(tmp_path, adapters=[down, up])
    package = world.packages.add("vdu", "1.0.0")
    first = world.deployed("du-1", package, adapter_id="dms-down")
    second = world.deployed("du-2", package, adapter_id="dms-down")
    other = world.deployed("du-3", package, adapter_id="dms-up")
    down.calls.clear()
    up.calls.clear()
    world.publisher.events.clear()
    down.unavailable = True
    up.not_ready.add("du-3")

    report = poll(world)

    assert report.unreachable == ["dms-down"]
    assert len(status_calls(down)) == 1 and status_calls(up) == ["du-3"]
    # two marked unreachable (written, not announced) and one status change (announced)
    assert report.changed == 3 and [e.object_id for e in world.publisher.events] == [other.deployment_id]
    for deployment in (first, second):  # unreachable is not failed: nothing is known about the release
        assert world.current(deployment.deployment_id).status is DeploymentStatus.DEPLOYED


def test_a_bug_refreshing_one_deployment_is_reported_and_the_others_are_still_polled(
        world: DmsWorld, adapter: ClusterAdapter, v1: DeploymentPackage, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    broken = world.deployed("du-1", v1)
    healthy = world.deployed("du-2", v1)
    world.publisher.events.clear()
    adapter.not_ready.add("du-2")
    status = adapter.status

    def buggy(name: str, namespace: str) -> ReleaseStatus:
        if name == "du-1":
            raise TypeError("a mapping bug")
        return status(name, namespace)

    monkeypatch.setattr(adapter, "status", buggy)

    report = poll(world)

    assert report.failed == [broken.deployment_id] and report.unreachable == []
    assert world.current(broken.deployment_id).status is DeploymentStatus.DEPLOYED  # nothing known: left as it was
    assert world.current(healthy.deployment_id).status is DeploymentStatus.DEPLOYING
    assert [e.object_id for e in world.publisher.events] == [healthy.deployment_id]
    [logged] = [r for r in caplog.records if r.getMessage() == "deployment poll hit a bug"]
    assert logged.exc_info is not None and logged.exc_info[0] is TypeError


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_queued_operations_older_than_the_deduplication_window_are_resubmitted(
        world: DmsWorld, v1: DeploymentPackage) -> None:
    now = world.clock()
    lost, lost_operation = world.accept_create("du-lost", v1)
    _, recent = world.accept_create("du-recent", v1)
    _, running = world.accept_create("du-running", v1)
    world.store.save_operation(world.operation(lost_operation.operation_id).model_copy(
        update={"created_at": _iso(now - STUCK_AFTER_SECONDS - 1)}))
    world.store.save_operation(world.operation(recent.operation_id).model_copy(
        update={"created_at": _iso(now - STUCK_AFTER_SECONDS + 30)}))
    old_running = world.operation(running.operation_id).model_copy(update={
        "created_at": _iso(now - 2 * STUCK_AFTER_SECONDS), "status": OperationStatus.RUNNING,
        "lease_until": int(now) + 100})
    assert world.store.claim_operation(old_running, int(now))
    world.queue.submitted.clear()

    report = poll(world)

    suffix = f"-{int(now) // STUCK_AFTER_SECONDS}"
    assert report.resubmitted == 1
    assert world.queue.submitted == [(lost.deployment_id, lost_operation.operation_id, suffix)]
    # Resubmitted again within the same window, the message deduplicates; the worker runs it once.
    poll(world)
    assert world.queue.submitted[-1] == (lost.deployment_id, lost_operation.operation_id, suffix)
    assert world.run(lost_operation.operation_id) == "succeeded"
    assert world.run(lost_operation.operation_id) == "skipped"
    world.queue.submitted.clear()
    assert poll(world).resubmitted == 0 and world.queue.submitted == []


def died_after_helm(world: DmsWorld, operation_id: str) -> None:
    """One delivery of the operation whose worker dies after the backend call, recording nothing more."""
    world.publisher.fail_once_on = {DeploymentEventType.READY.value}
    with pytest.raises(EndpointConnectionError):
        world.run(operation_id)


def test_running_operations_whose_lease_expired_long_ago_are_resubmitted(
        world: DmsWorld, v1: DeploymentPackage) -> None:
    dead, dead_operation = world.accept_create("du-dead", v1)
    _, later_operation = world.accept_create("du-later", v1)
    died_after_helm(world, dead_operation.operation_id)  # its lease ends at LEASE
    world.clock.advance(STUCK_AFTER_SECONDS)
    died_after_helm(world, later_operation.operation_id)  # its lease ends STUCK_AFTER_SECONDS after that
    world.queue.submitted.clear()

    world.clock.advance(LEASE - 1)  # the first lease expired STUCK_AFTER_SECONDS - 1 ago, the second is live
    assert poll(world).resubmitted == 0 and world.queue.submitted == []

    world.clock.advance(1)  # the first expired STUCK_AFTER_SECONDS ago, the second just now
    report = poll(world)

    suffix = f"-{int(world.clock()) // STUCK_AFTER_SECONDS}"
    assert report.resubmitted == 1
    assert world.queue.submitted == [(dead.deployment_id, dead_operation.operation_id, suffix)]
    assert world.run(dead_operation.operation_id) == "succeeded"
    finished = world.operation(dead_operation.operation_id)
    assert finished.attempts == 2 and world.current(dead.deployment_id).status is DeploymentStatus.DEPLOYED
    world.queue.submitted.clear()
    world.clock.advance(STUCK_AFTER_SECONDS)
    assert poll(world).resubmitted == 1  # the second one now; the finished one never again
    assert [op for _, op, _ in world.queue.submitted] == [later_operation.operation_id]


def test_an_operation_whose_every_attempt_died_is_resubmitted_and_then_fails(
        world: DmsWorld, adapter: ClusterAdapter, v1: DeploymentPackage) -> None:
    deployment, operation = world.accept_create("du-1", v1)
    for attempt in range(MAX_ATTEMPTS):  # each delivery SQS makes; after the last the message is in the DLQ
        died_after_helm(world, operation.operation_id)
        if attempt < MAX_ATTEMPTS - 1:
            world.clock.advance(VISIBILITY)
    assert world.operation(operation.operation_id).status is OperationStatus.RUNNING
    world.queue.submitted.clear()

    world.clock.advance(LEASE + STUCK_AFTER_SECONDS)
    assert poll(world).resubmitted == 1
    [(_, resubmitted, _)] = world.queue.submitted
    assert world.run(resubmitted) == "failed"

    failed = world.operation(operation.operation_id)
    assert failed.status is OperationStatus.FAILED and failed.error is not None
    assert failed.error.detail == f"gave up after {MAX_ATTEMPTS} attempts that did not finish"
    given_up = world.current(deployment.deployment_id)
    assert given_up.status is DeploymentStatus.FAILED and given_up.active_operation_id is None
    world.queue.submitted.clear()
    world.publisher.events.clear()

    report = poll(world)  # the deployment is idle again: the poller follows what the release really is

    assert report.resubmitted == 0 and world.queue.submitted == []
    assert world.current(deployment.deployment_id).status is DeploymentStatus.DEPLOYED
    assert [e.detail_type for e in world.publisher.events] == [DeploymentEventType.READY.value]


def test_the_poller_never_overwrites_what_an_operation_wrote_meanwhile(
        world: DmsWorld, adapter: ClusterAdapter, v1: DeploymentPackage) -> None:
    v2 = world.packages.add("vdu", "2.0.0")
    deployment = world.deployed("du-1", v1, {"image": {"tag": "a"}})
    world.publisher.events.clear()

    def upgrade_meanwhile() -> None:
        time.sleep(0.002)  # updatedAt has millisecond resolution: the operation's writes come later than the read
        operation = world.complete(deployment.deployment_id, OperationType.UPGRADE,
                                   {"packageId": v2.package_id, "values": {"image": {"tag": "b"}}})
        assert operation.status is OperationStatus.SUCCEEDED

    adapter.during_next_status = upgrade_meanwhile
    report = poll(world)

    assert report.changed == 0  # the poller's write was refused
    after = world.current(deployment.deployment_id)
    assert (after.package_id, after.package_version, after.values) == (v2.package_id, "2.0.0", {"image": {"tag": "b"}})
    assert after.revision == 2 and world.store.uses_package(v2.package_id)
    assert [e.detail_type for e in world.publisher.events] == [DeploymentEventType.PROGRESSING.value,
                                                               DeploymentEventType.UPGRADED.value]


def test_a_backend_that_is_down_marks_its_deployments_and_the_list_warns(
        world: DmsWorld, adapter: ClusterAdapter, v1: DeploymentPackage) -> None:
    from chalicelib.services.deployments import unreachable_warning

    first, second = world.deployed("du-1", v1), world.deployed("du-2", v1)
    world.publisher.events.clear()
    adapter.unavailable = True
    report = poll(world)
    assert report.unreachable == [adapter.adapter_id] and report.changed == 2
    marked = [world.current(d.deployment_id) for d in (first, second)]
    assert all(m.extensions["backendStatus"]["reachable"] is False for m in marked)
    assert all(m.status is DeploymentStatus.DEPLOYED for m in marked)  # the last known state, kept
    assert world.publisher.events == []  # nothing about the deployments is known to have changed
    warning = unreachable_warning([m.to_wire() for m in marked])
    assert warning is not None and adapter.adapter_id in warning
    assert poll(world).changed == 0  # marked once, not on every poll

    adapter.unavailable = False
    poll(world)
    assert all("backendStatus" not in world.current(d.deployment_id).extensions for d in (first, second))
    assert unreachable_warning([world.current(first.deployment_id).to_wire()]) is None
