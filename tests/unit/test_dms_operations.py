"""run_operation (the `run_dms_operation` worker) and the accept path, through fakes: what each operation does to the
release, the deployment and the operation record; that a run is claimed, leased and idempotent by operation id;
retries and their limit (also for workers that die without recording anything); refusals decided before anything
changes; failures in ProblemDetails terms, with the revision a failure left behind; stable event ids."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from chalicelib import resources
from chalicelib.adapters.dms.port import ReleaseSpec, ReleaseStatus
from chalicelib.domain.deployments import (
    DeploymentEventType,
    DeploymentStatus,
    OperationError,
    OperationQueueUnavailable,
    OperationStatus,
    OperationType,
    event_id,
)
from chalicelib.domain.errors import BackendUnavailable
from chalicelib.domain.events import ChangeType
from chalicelib.domain.packages import DeploymentPackage
from chalicelib.services.deployments import deployment_history
from chalicelib.services.dms_operations import (
    LEASE_MARGIN_SECONDS,
    MAX_ATTEMPTS,
    UNSPECIFIED_TIMEOUT_LEASE,
    OperationRefused,
)
from tests.unit.fakes.deployments import SMO, DmsWorld
from tests.unit.fakes.dms import FakeDeploymentAdapter

NAMESPACE = "oran-du"
LEASE_EXPIRED = UNSPECIFIED_TIMEOUT_LEASE + LEASE_MARGIN_SECONDS + 1  # a lease without timeoutSeconds is over
MAX_TIMEOUT_SECONDS = 840  # the largest timeoutSeconds the API accepts (chalicelib/api/deployments.py MAX_TIMEOUT)
VISIBILITY = resources.DMS_OPERATIONS.visibility_timeout_seconds  # SQS delivers an unfinished message again after


class WorkerKilled(BaseException):
    """The Lambda running the worker is killed (timeout, out of memory): nothing after this point runs, not even
    the worker's `except Exception` handlers."""


class DyingAdapter(FakeDeploymentAdapter):
    """The fake backend, plus: the timeout each call was given (`timeouts`), and `kill_during` names of calls
    (install, upgrade, ...) during which the worker is killed, as often as `kills` says."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[tuple[str, int | None]] = []
        self.kill_during: set[str] = set()
        self.kills = 0

    def _call(self, call: str, timeout: int | None) -> None:
        self.timeouts.append((call, timeout))
        if call in self.kill_during and self.kills > 0:
            self.kills -= 1
            raise WorkerKilled(call)

    def install(self, spec: ReleaseSpec) -> ReleaseStatus:
        self._call("install", spec.timeout_seconds)
        return super().install(spec)

    def upgrade(self, spec: ReleaseSpec) -> ReleaseStatus:
        self._call("upgrade", spec.timeout_seconds)
        return super().upgrade(spec)

    def scale(self, name: str, namespace: str, replicas: int, timeout_seconds: int | None = None, *,
              owner: str, node_selector: Mapping[str, str] | None = None) -> ReleaseStatus:
        self._call("scale", timeout_seconds)
        return super().scale(name, namespace, replicas, timeout_seconds, owner=owner, node_selector=node_selector)


@pytest.fixture()
def adapter() -> DyingAdapter:
    return DyingAdapter()


@pytest.fixture()
def world(tmp_path: Path, adapter: DyingAdapter) -> DmsWorld:
    (tmp_path / "work").mkdir()
    return DmsWorld(tmp_path / "work", adapters=[adapter])


@pytest.fixture()
def v1(world: DmsWorld) -> DeploymentPackage:
    return world.packages.add("vdu", "1.0.0")


@pytest.fixture()
def v2(world: DmsWorld) -> DeploymentPackage:
    return world.packages.add("vdu", "2.0.0")


def events_of(world: DmsWorld, operation_id: str) -> list[tuple[str | None, str]]:
    """(detail type, event id) of the events published for one operation's deployment, in order."""
    ids = {event_id(operation_id, "start"), event_id(operation_id, "done")}
    return [(e.detail_type, e.event_id) for e in world.publisher.events if e.event_id in ids]


def release_values(world: DmsWorld, name: str) -> dict[str, object]:
    return world.adapter.releases[(NAMESPACE, name)].current.values


# --- each operation type -------------------------------------------------------------------------------------------

def test_create_installs_the_release_and_leaves_the_deployment_deployed_and_unlocked(
        world: DmsWorld, v1: DeploymentPackage, tmp_path: Path) -> None:
    deployment, operation = world.accept_create("du-1", v1, {"replicaCount": 2})
    assert deployment.status is DeploymentStatus.PENDING
    assert deployment.active_operation_id == operation.operation_id
    assert world.queue.submitted == [(deployment.deployment_id, operation.operation_id, "")]

    assert world.run(operation.operation_id) == "succeeded"

    done = world.current(deployment.deployment_id)
    assert done.status is DeploymentStatus.DEPLOYED and done.active_operation_id is None
    assert (done.package_id, done.package_version, done.values) == (v1.package_id, "1.0.0", {"replicaCount": 2})
    assert done.revision == 1 and done.extensions["replicas"] == {"desired": 2, "ready": 2}
    assert done.extensions["lastOperationId"] == operation.operation_id and "statusReason" not in done.extensions
    finished = world.operation(operation.operation_id)
    assert finished.status is OperationStatus.SUCCEEDED and finished.attempts == 1
    assert finished.result == {"revision": 1, "status": "deployed"}
    assert finished.started_at and finished.finished_at and finished.error is None
    assert [call[0] for call in world.adapter.calls] == ["install"]
    [recorded] = world.store.revisions(deployment.deployment_id)
    assert {k: recorded[k] for k in ("revision", "packageId", "packageVersion", "values", "operationId")} == {
        "revision": 1, "packageId": v1.package_id, "packageVersion": "1.0.0", "values": {"replicaCount": 2},
        "operationId": operation.operation_id}
    assert list((tmp_path / "work").iterdir()) == []  # the chart fetched for helm does not stay behind

    created, ready = world.publisher.of(deployment.deployment_id)
    assert (created.detail_type, created.event_type, created.event_id) == (
        DeploymentEventType.CREATED.value, ChangeType.CREATED, event_id(operation.operation_id, "start"))
    assert created.prior is None and created.post is not None and created.post["status"] == "deploying"
    assert (ready.detail_type, ready.event_type, ready.event_id) == (
        DeploymentEventType.READY.value, ChangeType.MODIFIED, event_id(operation.operation_id, "done"))
    assert ready.post is not None and ready.post["status"] == "deployed" and ready.backend == "fake-dms"


def _parameters(kind: OperationType, v2: DeploymentPackage) -> dict[str, Any]:
    parameters: dict[OperationType, dict[str, Any]] = {
        OperationType.UPDATE: {"values": {"replicaCount": 3}}, OperationType.UPGRADE: {"packageId": v2.package_id},
        OperationType.SCALE: {"replicas": 4}, OperationType.ROLLBACK: {"revision": 1}, OperationType.DELETE: {}}
    return parameters[kind]


@pytest.mark.parametrize(("kind", "adapter_call", "success"), [
    (OperationType.UPDATE, "upgrade", DeploymentEventType.UPGRADED),
    (OperationType.UPGRADE, "upgrade", DeploymentEventType.UPGRADED),
    (OperationType.SCALE, "scale", DeploymentEventType.SCALED),
    (OperationType.ROLLBACK, "rollback", DeploymentEventType.ROLLED_BACK),
    (OperationType.DELETE, "uninstall", DeploymentEventType.DELETED),
])
def test_every_lifecycle_operation_runs_once_through_its_backend_call_and_announces_progress_then_outcome(
        world: DmsWorld, v1: DeploymentPackage, v2: DeploymentPackage, kind: OperationType, adapter_call: str,
        success: DeploymentEventType) -> None:
    deployment = world.deployed("du-1", v1, {"replicaCount": 1})
    world.complete(deployment.deployment_id, OperationType.UPDATE, {"values": {"replicaCount": 2}})  # revision 2
    world.adapter.calls.clear()

    operation = world.accept(deployment.deployment_id, kind, _parameters(kind, v2))
    assert world.run(operation.operation_id) == "succeeded"

    assert adapter_call in [call[0] for call in world.adapter.calls]
    assert [call[0] for call in world.adapter.calls].count(adapter_call) == 1
    finished = world.operation(operation.operation_id)
    assert finished.status is OperationStatus.SUCCEEDED and finished.attempts == 1 and finished.error is None
    assert events_of(world, operation.operation_id) == [
        (DeploymentEventType.PROGRESSING.value, event_id(operation.operation_id, "start")),
        (success.value, event_id(operation.operation_id, "done"))]
    after = world.store.get(deployment.deployment_id)
    if kind is OperationType.DELETE:
        assert after is None
    else:
        assert after is not None and after.active_operation_id is None and after.status is DeploymentStatus.DEPLOYED
        assert after.revision == 3 and finished.result == {"revision": 3, "status": "deployed"}


def test_update_installs_the_new_values_and_keeps_the_package(world: DmsWorld, v1: DeploymentPackage) -> None:
    deployment = world.deployed("du-1", v1, {"replicaCount": 1, "image": {"tag": "a"}})
    world.complete(deployment.deployment_id, OperationType.UPDATE, {"values": {"image": {"tag": "b"}}})
    after = world.current(deployment.deployment_id)
    assert after.values == {"image": {"tag": "b"}} == release_values(world, "du-1")
    assert (after.package_id, after.package_version, after.revision) == (v1.package_id, "1.0.0", 2)


def test_upgrade_changes_the_package_and_keeps_the_values_when_none_are_given(
        world: DmsWorld, v1: DeploymentPackage, v2: DeploymentPackage) -> None:
    deployment = world.deployed("du-1", v1, {"replicaCount": 2})
    operation = world.complete(deployment.deployment_id, OperationType.UPGRADE, {"packageId": v2.package_id})
    assert operation.parameters["packageVersion"] == "2.0.0"  # resolved when accepted
    after = world.current(deployment.deployment_id)
    assert (after.package_id, after.package_version, after.values) == (v2.package_id, "2.0.0", {"replicaCount": 2})
    assert world.store.revisions(deployment.deployment_id)[-1]["packageId"] == v2.package_id
    assert world.store.uses_package(v2.package_id) and not world.store.uses_package(v1.package_id)


def test_scale_records_the_replicas_in_values_and_extensions(world: DmsWorld, v1: DeploymentPackage) -> None:
    deployment = world.deployed("du-1", v1, {"replicaCount": 1, "image": {"tag": "a"}})
    operation = world.complete(deployment.deployment_id, OperationType.SCALE, {"replicas": 4})
    after = world.current(deployment.deployment_id)
    assert after.values == {"replicaCount": 4, "image": {"tag": "a"}}
    assert after.extensions["replicas"] == {"desired": 4, "ready": 4}
    assert events_of(world, operation.operation_id)[-1][0] == DeploymentEventType.SCALED.value


def test_delete_uninstalls_and_removes_the_deployment_but_keeps_the_operation(
        world: DmsWorld, v1: DeploymentPackage) -> None:
    deployment = world.deployed("du-1", v1)
    operation = world.complete(deployment.deployment_id, OperationType.DELETE)

    assert world.store.get(deployment.deployment_id) is None
    assert world.store.revisions(deployment.deployment_id) == [] and world.store.claims() == {}
    assert world.adapter.releases == {}
    assert operation.status is OperationStatus.SUCCEEDED and operation.result == {"status": "deleted"}
    progressing, deleted = (e for e in world.publisher.events
                            if e.event_id in {event_id(operation.operation_id, p) for p in ("start", "done")})
    assert progressing.detail_type == DeploymentEventType.PROGRESSING.value
    assert progressing.post is not None and progressing.post["status"] == "deleting"
    assert deleted.detail_type == DeploymentEventType.DELETED.value and deleted.event_type is ChangeType.DELETED
    assert deleted.post is None and deleted.prior is not None
    assert deleted.prior["deploymentId"] == deployment.deployment_id
    world.deployed("du-1", v1)  # the name is free again


# --- claimed, leased, idempotent -------------------------------------------------------------------------------------

def test_running_the_same_operation_twice_runs_it_once(world: DmsWorld, v1: DeploymentPackage) -> None:
    deployment, operation = world.accept_create("du-1", v1)
    assert world.run(operation.operation_id) == "succeeded"
    before = world.operation(operation.operation_id)

    assert world.run(operation.operation_id) == "skipped"

    assert [call[0] for call in world.adapter.calls] == ["install"]
    assert world.operation(operation.operation_id) == before
    assert [e.event_id for e in world.publisher.of(deployment.deployment_id)] == [
        event_id(operation.operation_id, "start"), event_id(operation.operation_id, "done")]


def test_a_delivery_while_another_worker_holds_a_live_lease_is_skipped(world: DmsWorld, v1: DeploymentPackage) -> None:
    _, operation = world.accept_create("du-1", v1)
    now = int(world.clock())
    taken = world.operation(operation.operation_id).model_copy(
        update={"status": OperationStatus.RUNNING, "attempts": 1, "lease_until": now + 600})
    assert world.store.claim_operation(taken, now)

    world.clock.advance(599)
    assert world.run(operation.operation_id) == "skipped"

    assert world.adapter.calls == [] and world.publisher.events == []
    assert world.operation(operation.operation_id).attempts == 1


def test_an_operation_whose_worker_died_is_taken_over_after_its_lease(world: DmsWorld, v1: DeploymentPackage) -> None:
    deployment, operation = world.accept_create("du-1", v1)
    world.publisher.fail_once_on = {DeploymentEventType.READY.value}  # the worker dies after helm finished
    with pytest.raises(EndpointConnectionError):
        world.run(operation.operation_id)
    crashed = world.operation(operation.operation_id)
    assert crashed.status is OperationStatus.RUNNING and crashed.attempts == 1
    assert world.current(deployment.deployment_id).active_operation_id == operation.operation_id

    assert world.run(operation.operation_id) == "skipped"  # a duplicate delivery while the lease is live
    world.clock.advance(LEASE_EXPIRED)
    assert world.run(operation.operation_id) == "succeeded"

    finished = world.operation(operation.operation_id)
    assert finished.status is OperationStatus.SUCCEEDED and finished.attempts == 2
    assert any(p.message == "attempt 2 started" for p in finished.progress)
    assert world.current(deployment.deployment_id).status is DeploymentStatus.DEPLOYED
    # The re-run republished its events under the same ids, never under new ones.
    published = world.publisher.of(deployment.deployment_id)
    assert {e.event_id for e in published} == {event_id(operation.operation_id, "start"),
                                                event_id(operation.operation_id, "done")}
    assert [e.detail_type for e in published] == ["DeploymentCreated", "DeploymentCreated", "DeploymentReady"]


def test_without_timeout_seconds_the_backend_default_applies_under_the_longest_lease(
        world: DmsWorld, adapter: DyingAdapter, v1: DeploymentPackage) -> None:
    deployment, operation = world.accept_create("du-1", v1)
    now = int(world.clock())
    assert world.run(operation.operation_id) == "succeeded"
    assert adapter.timeouts == [("install", None)]  # the adapter's own default, not one the worker made up
    assert world.store.lease_until(operation.operation_id) == now + UNSPECIFIED_TIMEOUT_LEASE + LEASE_MARGIN_SECONDS
    assert "the backend's default timeout" in " ".join(p.message for p in world.operation(operation.operation_id)
                                                          .progress)

    scale = world.accept(deployment.deployment_id, OperationType.SCALE, {"replicas": 2}, timeout_seconds=120)
    assert world.run(scale.operation_id) == "succeeded"
    assert adapter.timeouts[-1] == ("scale", 120)
    assert world.store.lease_until(scale.operation_id) == now + 120 + LEASE_MARGIN_SECONDS


@pytest.mark.parametrize("timeout", [None, MAX_TIMEOUT_SECONDS])
def test_a_killed_worker_s_message_redelivered_after_the_visibility_timeout_finds_the_lease_over(
        world: DmsWorld, adapter: DyingAdapter, v1: DeploymentPackage, timeout: int | None) -> None:
    deployment, operation = world.accept_create("du-1", v1, timeout_seconds=timeout)
    adapter.kill_during, adapter.kills = {"install"}, 1
    with pytest.raises(WorkerKilled):
        world.run(operation.operation_id)
    lease = world.store.lease_until(operation.operation_id)
    assert lease is not None and lease < world.clock() + VISIBILITY

    assert world.run(operation.operation_id) == "skipped"  # a duplicate delivery while the lease is live
    world.clock.advance(VISIBILITY)
    assert world.run(operation.operation_id) == "succeeded"

    assert world.operation(operation.operation_id).attempts == 2
    assert world.current(deployment.deployment_id).status is DeploymentStatus.DEPLOYED


def test_event_ids_depend_only_on_operation_and_phase() -> None:
    assert event_id("op-1", "start") == event_id("op-1", "start") != event_id("op-1", "done")
    assert event_id("op-1", "start") != event_id("op-2", "start")


# --- retries ---------------------------------------------------------------------------------------------------

def test_an_unavailable_backend_is_retried_at_once_by_the_redelivery_with_the_deployment_still_locked(
        world: DmsWorld, v1: DeploymentPackage) -> None:
    deployment = world.deployed("du-1", v1)
    operation = world.accept(deployment.deployment_id, OperationType.SCALE, {"replicas": 3})
    world.adapter.unavailable = True

    with pytest.raises(BackendUnavailable):
        world.run(operation.operation_id)

    held = world.current(deployment.deployment_id)
    assert held.active_operation_id == operation.operation_id and held.status is DeploymentStatus.DEPLOYING
    running = world.operation(operation.operation_id)
    assert running.status is OperationStatus.RUNNING and running.attempts == 1 and running.error is None
    assert running.progress[-1].message == "attempt 1 failed (backend 'fake-dms' is unavailable); will retry"
    assert world.store.lease_until(operation.operation_id) == 0  # given up, so the redelivery may claim it
    assert [d for d, _ in events_of(world, operation.operation_id)] == [DeploymentEventType.PROGRESSING.value]

    world.adapter.unavailable = False
    assert world.run(operation.operation_id) == "succeeded"  # no wait for a lease
    assert world.operation(operation.operation_id).attempts == 2
    assert world.current(deployment.deployment_id).values == {"replicaCount": 3}


def test_an_aws_request_failing_in_the_worker_is_retried_too(world: DmsWorld, v1: DeploymentPackage) -> None:
    deployment, operation = world.accept_create("du-1", v1)
    world.publisher.fail_once_on = {DeploymentEventType.CREATED.value}  # before the backend is called

    with pytest.raises(EndpointConnectionError):
        world.run(operation.operation_id)

    assert world.operation(operation.operation_id).progress[-1].message == \
        "attempt 1 failed (EndpointConnectionError); will retry"
    assert world.run(operation.operation_id) == "succeeded"
    assert world.current(deployment.deployment_id).status is DeploymentStatus.DEPLOYED


def test_the_last_attempt_records_the_failure_and_releases_the_lock(world: DmsWorld, v1: DeploymentPackage) -> None:
    deployment, operation = world.accept_create("du-1", v1)
    world.adapter.unavailable = True
    for _ in range(MAX_ATTEMPTS - 1):
        with pytest.raises(BackendUnavailable):
            world.run(operation.operation_id)

    assert world.run(operation.operation_id) == "failed"

    failed = world.operation(operation.operation_id)
    assert failed.status is OperationStatus.FAILED and failed.attempts == MAX_ATTEMPTS and failed.finished_at
    assert failed.error == OperationError(title="Service Unavailable", status=503,
                                          detail="backend 'fake-dms' is unavailable")
    after = world.current(deployment.deployment_id)
    assert after.status is DeploymentStatus.FAILED and after.active_operation_id is None
    assert after.extensions["statusReason"] == "create failed: backend 'fake-dms' is unavailable"
    assert after.extensions["lastOperationId"] == operation.operation_id
    last = world.publisher.of(deployment.deployment_id)[-1]
    assert (last.detail_type, last.event_id) == (DeploymentEventType.FAILED.value,
                                                 event_id(operation.operation_id, "done"))
    assert last.post is not None and last.post["status"] == "failed"
    assert world.run(operation.operation_id) == "skipped"  # a redrive after the failure changes nothing
    world.adapter.unavailable = False
    world.accept(deployment.deployment_id, OperationType.DELETE)  # the deployment takes new operations


def test_a_retry_the_worker_asked_for_is_run_by_the_redelivery(world: DmsWorld, v1: DeploymentPackage) -> None:
    _, operation = world.accept_create("du-1", v1, timeout_seconds=MAX_TIMEOUT_SECONDS)
    world.adapter.unavailable = True
    with pytest.raises(BackendUnavailable):
        world.run(operation.operation_id)
    world.adapter.unavailable = False

    world.clock.advance(VISIBILITY)  # SQS delivers the message again

    assert world.run(operation.operation_id) == "succeeded"


def test_an_operation_claimed_after_its_last_attempt_gives_up_at_once(
        world: DmsWorld, adapter: DyingAdapter, v1: DeploymentPackage) -> None:
    deployment, operation = world.accept_create("du-1", v1)
    adapter.kill_during, adapter.kills = {"install"}, MAX_ATTEMPTS
    for _ in range(MAX_ATTEMPTS):  # every delivery SQS makes before moving the message to the DLQ
        with pytest.raises(WorkerKilled):
            world.run(operation.operation_id)
        world.clock.advance(VISIBILITY)
    assert world.operation(operation.operation_id).status is OperationStatus.RUNNING  # nothing was recorded

    assert world.run(operation.operation_id) == "failed"  # the poller's resubmission

    assert [call for call, _ in adapter.timeouts] == ["install"] * MAX_ATTEMPTS  # not tried a fourth time
    failed = world.operation(operation.operation_id)
    assert failed.status is OperationStatus.FAILED and failed.attempts == MAX_ATTEMPTS + 1
    assert failed.error is not None and failed.error.status == 500
    assert failed.error.detail == f"gave up after {MAX_ATTEMPTS} attempts that did not finish"
    after = world.current(deployment.deployment_id)
    assert after.status is DeploymentStatus.FAILED and after.active_operation_id is None
    assert after.extensions["statusReason"] == f"create failed: {failed.error.detail}"
    last = world.publisher.of(deployment.deployment_id)[-1]
    assert (last.detail_type, last.event_id) == (DeploymentEventType.FAILED.value,
                                                 event_id(operation.operation_id, "done"))
    assert world.run(operation.operation_id) == "skipped"
    world.accept(deployment.deployment_id, OperationType.DELETE)  # the lock is released


# --- failures after the start ----------------------------------------------------------------------------------------

def test_a_backend_refusal_fails_the_operation_with_problem_details(world: DmsWorld, v1: DeploymentPackage) -> None:
    deployment = world.deployed("du-1", v1, {"image": {"tag": "good"}})
    operation = world.accept(deployment.deployment_id, OperationType.UPDATE, {"values": {"image": {"tag": "fail"}}})

    assert world.run(operation.operation_id) == "failed"

    failed = world.operation(operation.operation_id)
    assert failed.status is OperationStatus.FAILED and failed.attempts == 1
    assert failed.error is not None and failed.error.model_dump() == {
        "title": "Unprocessable Content", "status": 422, "detail": "UPGRADE FAILED: context deadline exceeded"}
    assert failed.progress[-1].message == "failed: UPGRADE FAILED: context deadline exceeded"
    after = world.current(deployment.deployment_id)
    assert after.status is DeploymentStatus.FAILED and after.active_operation_id is None
    assert after.extensions["statusReason"] == "update failed: UPGRADE FAILED: context deadline exceeded"
    assert after.extensions["lastOperationId"] == operation.operation_id
    # Package and values stay what was last deployed; revision and replicas are the release's, as it failed.
    assert (after.package_id, after.values) == (v1.package_id, {"image": {"tag": "good"}})
    assert after.revision == 2 and after.extensions["replicas"] == {"desired": 1, "ready": 0}
    assert [d for d, _ in events_of(world, operation.operation_id)] == [
        DeploymentEventType.PROGRESSING.value, DeploymentEventType.FAILED.value]
    world.accept(deployment.deployment_id, OperationType.ROLLBACK)  # lock released: the SMO can repair it


def test_a_failed_upgrade_records_the_package_of_the_revision_it_left_behind(
        world: DmsWorld, v1: DeploymentPackage, v2: DeploymentPackage) -> None:
    deployment = world.deployed("du-1", v1, {"image": {"tag": "good"}})  # revision 1
    upgrade = world.complete(deployment.deployment_id, OperationType.UPGRADE,
                             {"packageId": v2.package_id, "values": {"image": {"tag": "fail"}}})
    assert upgrade.status is OperationStatus.FAILED

    [first, second] = world.store.revisions(deployment.deployment_id)
    assert (first["revision"], first["packageId"]) == (1, v1.package_id)
    assert {k: second[k] for k in ("revision", "packageId", "packageVersion", "values", "operationId")} == {
        "revision": 2, "packageId": v2.package_id, "packageVersion": "2.0.0", "values": {"image": {"tag": "fail"}},
        "operationId": upgrade.operation_id}
    history = deployment_history(world.deployment_ports(), deployment.deployment_id, access=SMO)
    assert [(h["revision"], h["status"], h["packageId"], h["packageVersion"]) for h in history] == [
        (1, "superseded", v1.package_id, "1.0.0"), (2, "failed", v2.package_id, "2.0.0")]
    failed = world.current(deployment.deployment_id)
    assert failed.revision == 2 and failed.extensions["statusReason"].startswith("upgrade failed: ")
    [failed_event] = [e for e in world.publisher.of(deployment.deployment_id)
                      if e.event_id == event_id(upgrade.operation_id, "done")]
    assert failed_event.post is not None and failed_event.post["extensions"]["revision"] == 2

    rollback = world.complete(deployment.deployment_id, OperationType.ROLLBACK)  # to the one before the failure
    assert rollback.status is OperationStatus.SUCCEEDED and rollback.parameters["revision"] == 1
    repaired = world.current(deployment.deployment_id)
    assert (repaired.status, repaired.package_id, repaired.values, repaired.revision) == (
        DeploymentStatus.DEPLOYED, v1.package_id, {"image": {"tag": "good"}}, 3)


def test_a_failure_the_backend_cannot_describe_keeps_the_recorded_revision(
        world: DmsWorld, v1: DeploymentPackage) -> None:
    deployment = world.deployed("du-1", v1)
    operation = world.accept(deployment.deployment_id, OperationType.SCALE, {"replicas": 2})
    world.adapter.unavailable = True
    for _ in range(MAX_ATTEMPTS - 1):
        with pytest.raises(BackendUnavailable):
            world.run(operation.operation_id)
    assert world.run(operation.operation_id) == "failed"

    after = world.current(deployment.deployment_id)
    assert after.status is DeploymentStatus.FAILED and after.revision == 1
    assert after.extensions["replicas"] == {"desired": 1, "ready": 1}
    assert [r["revision"] for r in world.store.revisions(deployment.deployment_id)] == [1]


def test_an_operation_whose_deployment_is_gone_is_abandoned(world: DmsWorld, v1: DeploymentPackage) -> None:
    deployment = world.deployed("du-1", v1)
    stale = world.accept(deployment.deployment_id, OperationType.SCALE, {"replicas": 2})
    world.store.remove(world.current(deployment.deployment_id), stale)  # e.g. removed by hand meanwhile
    world.store.save_operation(stale)

    assert world.run(stale.operation_id) == "failed"

    error = world.operation(stale.operation_id).error
    assert error is not None and error.status == 409
    assert "scale" not in [call[0] for call in world.adapter.calls]


# --- refusals: decided before anything changes -----------------------------------------------------------------------

def assert_refused(world: DmsWorld, operation_id: str, before_events: int, detail: str) -> None:
    """The operation failed with 422 and nothing else happened: no deployment event, no backend change."""
    refused = world.operation(operation_id)
    assert refused.status is OperationStatus.FAILED and refused.finished_at and refused.attempts == 1
    assert refused.error is not None and (refused.error.title, refused.error.status) == (
        OperationRefused.title, OperationRefused.status)
    assert detail in refused.error.detail
    assert refused.progress[-1].message == f"refused: {refused.error.detail}"
    assert len(world.publisher.events) == before_events
    assert {e.event_id for e in world.publisher.events}.isdisjoint(
        {event_id(operation_id, "start"), event_id(operation_id, "done")})
    assert world.run(operation_id) == "skipped"


def test_an_operation_whose_package_was_deleted_is_refused_and_the_deployment_kept_as_it_was(
        world: DmsWorld, v1: DeploymentPackage, v2: DeploymentPackage) -> None:
    deployment = world.deployed("du-1", v1, {"replicaCount": 2})
    world.adapter.calls.clear()
    events = len(world.publisher.events)
    operation = world.accept(deployment.deployment_id, OperationType.UPGRADE, {"packageId": v2.package_id})
    del world.packages.packages[v2.package_id]

    assert world.run(operation.operation_id) == "refused"

    assert_refused(world, operation.operation_id, events, f"deployment package '{v2.package_id}' no longer exists")
    assert world.adapter.calls == []
    assert world.current(deployment.deployment_id) == deployment  # status, values, revision; lock released


def test_a_refusal_keeps_a_failed_deployment_failed_with_its_reason(world: DmsWorld, v1: DeploymentPackage) -> None:
    deployment = world.deployed("du-1", v1, {"image": {"tag": "good"}})
    world.complete(deployment.deployment_id, OperationType.UPDATE, {"values": {"image": {"tag": "fail"}}})
    failed = world.current(deployment.deployment_id)
    assert failed.status is DeploymentStatus.FAILED
    events = len(world.publisher.events)

    operation = world.complete(deployment.deployment_id, OperationType.ROLLBACK, {"revision": 9})

    assert_refused(world, operation.operation_id, events, "rollback: revision 9 does not exist; revisions: 1, 2")
    assert world.current(deployment.deployment_id) == failed


def test_rollback_of_a_release_with_a_single_revision_is_refused(world: DmsWorld, v1: DeploymentPackage) -> None:
    deployment = world.deployed("du-1", v1)
    events = len(world.publisher.events)
    operation = world.complete(deployment.deployment_id, OperationType.ROLLBACK)
    assert_refused(world, operation.operation_id, events, "no earlier revision")
    assert "rollback" not in [call[0] for call in world.adapter.calls]
    assert world.current(deployment.deployment_id) == deployment


def test_rollback_to_an_unknown_revision_is_refused(world: DmsWorld, v1: DeploymentPackage) -> None:
    deployment = world.deployed("du-1", v1)
    events = len(world.publisher.events)
    operation = world.complete(deployment.deployment_id, OperationType.ROLLBACK, {"revision": 7})
    assert_refused(world, operation.operation_id, events, "revision 7 does not exist; revisions: 1")
    assert world.current(deployment.deployment_id) == deployment
    world.accept(deployment.deployment_id, OperationType.SCALE, {"replicas": 2})  # the lock is released


def test_rollback_of_a_release_missing_from_the_cluster_is_refused(world: DmsWorld, v1: DeploymentPackage) -> None:
    deployment = world.deployed("du-1", v1)
    del world.adapter.releases[(NAMESPACE, "du-1")]
    events = len(world.publisher.events)
    operation = world.complete(deployment.deployment_id, OperationType.ROLLBACK, {"revision": 1})
    assert_refused(world, operation.operation_id, events, "revision 1 does not exist; revisions: none")


def test_an_unavailable_backend_while_planning_a_rollback_is_retried_not_refused(
        world: DmsWorld, v1: DeploymentPackage) -> None:
    deployment = world.deployed("du-1", v1)
    world.complete(deployment.deployment_id, OperationType.UPDATE, {"values": {"replicaCount": 2}})  # revision 2
    operation = world.accept(deployment.deployment_id, OperationType.ROLLBACK)
    world.adapter.unavailable = True

    with pytest.raises(BackendUnavailable):
        world.run(operation.operation_id)

    held = world.current(deployment.deployment_id)
    assert held.status is DeploymentStatus.DEPLOYED and held.active_operation_id == operation.operation_id
    world.adapter.unavailable = False
    assert world.run(operation.operation_id) == "succeeded"
    assert world.operation(operation.operation_id).parameters["revision"] == 1


# --- rollback ------------------------------------------------------------------------------------------------------

def test_rollback_without_revision_goes_to_the_previous_one_and_a_rerun_keeps_that_target(
        world: DmsWorld, v1: DeploymentPackage, v2: DeploymentPackage) -> None:
    deployment = world.deployed("du-1", v1, {"image": {"tag": "a"}})  # revision 1
    world.complete(deployment.deployment_id, OperationType.UPGRADE,
                   {"packageId": v2.package_id, "values": {"image": {"tag": "b"}}})  # revision 2
    operation = world.accept(deployment.deployment_id, OperationType.ROLLBACK)
    assert "revision" not in operation.parameters

    world.publisher.fail_once_on = {DeploymentEventType.ROLLED_BACK.value}  # dies after helm rolled back
    with pytest.raises(EndpointConnectionError):
        world.run(operation.operation_id)
    assert world.operation(operation.operation_id).parameters["revision"] == 1  # resolved once, recorded
    assert world.adapter.releases[(NAMESPACE, "du-1")].current.number == 3

    world.clock.advance(LEASE_EXPIRED)
    assert world.run(operation.operation_id) == "succeeded"  # current is 3 now: 3 - 1 would be the wrong target

    finished = world.operation(operation.operation_id)
    assert finished.parameters["revision"] == 1 and finished.result == {"revision": 4, "status": "deployed"}
    assert release_values(world, "du-1") == {"image": {"tag": "a"}}
    after = world.current(deployment.deployment_id)
    assert (after.package_id, after.package_version, after.values, after.revision) == (
        v1.package_id, "1.0.0", {"image": {"tag": "a"}}, 4)


def test_rollback_without_revision_skips_a_failed_earlier_revision(
        world: DmsWorld, v1: DeploymentPackage) -> None:
    deployment = world.deployed("du-1", v1, {"image": {"tag": "a"}})  # revision 1
    world.complete(deployment.deployment_id, OperationType.UPDATE, {"values": {"image": {"tag": "fail"}}})  # 2
    world.complete(deployment.deployment_id, OperationType.UPDATE, {"values": {"image": {"tag": "c"}}})  # 3
    assert [r.status for r in world.adapter.history("du-1", NAMESPACE)][1] == "failed"

    operation = world.complete(deployment.deployment_id, OperationType.ROLLBACK)

    assert operation.status is OperationStatus.SUCCEEDED and operation.parameters["revision"] == 1
    assert release_values(world, "du-1") == {"image": {"tag": "a"}}  # not the failed revision 2


def test_rollback_restores_package_and_values_of_the_recorded_revision(
        world: DmsWorld, v1: DeploymentPackage, v2: DeploymentPackage) -> None:
    deployment = world.deployed("du-1", v1, {"replicaCount": 1})  # revision 1
    world.complete(deployment.deployment_id, OperationType.UPGRADE,
                   {"packageId": v2.package_id, "values": {"replicaCount": 2}})  # revision 2
    world.complete(deployment.deployment_id, OperationType.SCALE, {"replicas": 5})  # revision 3

    operation = world.complete(deployment.deployment_id, OperationType.ROLLBACK, {"revision": 1})

    assert operation.status is OperationStatus.SUCCEEDED
    after = world.current(deployment.deployment_id)
    assert (after.package_id, after.package_version, after.values) == (v1.package_id, "1.0.0", {"replicaCount": 1})
    assert after.revision == 4 and after.extensions["replicas"] == {"desired": 1, "ready": 1}
    latest = world.store.revisions(deployment.deployment_id)[-1]
    assert (latest["revision"], latest["packageId"], latest["values"]) == (4, v1.package_id, {"replicaCount": 1})
    assert world.store.uses_package(v1.package_id) and not world.store.uses_package(v2.package_id)


# --- accepting: the queue ------------------------------------------------------------------------------------------

def test_an_operation_that_cannot_be_queued_is_recorded_failed_and_the_lock_released(
        world: DmsWorld, v1: DeploymentPackage) -> None:
    deployment = world.deployed("du-1", v1, {"replicaCount": 1})
    world.queue.submitted.clear()
    world.queue.error = ConnectionError("sqs unreachable")

    with pytest.raises(OperationQueueUnavailable) as raised:
        world.accept(deployment.deployment_id, OperationType.SCALE, {"replicas": 2})

    assert raised.value.status == 503 and raised.value.slug == "operation-queue-unavailable"
    [failed] = [o for o in world.store.operations_of(deployment.deployment_id)
                if o.operation_type is OperationType.SCALE]
    assert failed.status is OperationStatus.FAILED and failed.finished_at
    assert failed.error is not None and (failed.error.title, failed.error.status) == ("Service Unavailable", 503)
    assert world.current(deployment.deployment_id) == deployment  # as if never asked
    assert world.queue.submitted == []

    world.queue.error = None
    accepted = world.accept(deployment.deployment_id, OperationType.SCALE, {"replicas": 2})
    assert world.queue.submitted == [(deployment.deployment_id, accepted.operation_id, "")]
    assert world.run(accepted.operation_id) == "succeeded"
    assert world.run(failed.operation_id) == "skipped"  # a late message of the failed one changes nothing


def test_a_create_that_cannot_be_queued_leaves_nothing_but_its_failed_operation(
        world: DmsWorld, v1: DeploymentPackage) -> None:
    world.queue.error = ConnectionError("sqs unreachable")
    with pytest.raises(OperationQueueUnavailable) as raised:
        world.accept_create("du-1", v1)

    assert raised.value.status == 503
    assert list(world.store.all()) == [] and world.store.claims() == {}
    assert not world.store.uses_package(v1.package_id)
    [(failed, _)] = world.store.operations_in(OperationStatus.FAILED.value)
    assert failed.operation_type is OperationType.CREATE and failed.finished_at
    assert failed.error is not None and (failed.error.title, failed.error.status) == ("Service Unavailable", 503)
    assert world.store.get(failed.deployment_id) is None
    assert world.publisher.events == [] and world.adapter.calls == []
    assert world.run(failed.operation_id) == "skipped"  # a late message of it changes nothing


def test_a_create_that_cannot_be_queued_can_be_retried_as_the_error_says(
        world: DmsWorld, v1: DeploymentPackage) -> None:
    world.queue.error = ConnectionError("sqs unreachable")
    with pytest.raises(OperationQueueUnavailable):
        world.accept_create("du-1", v1)
    world.queue.error = None

    deployment, operation = world.accept_create("du-1", v1)

    assert world.run(operation.operation_id) == "succeeded"
    assert [d.deployment_id for d in world.store.all()] == [deployment.deployment_id]
    assert world.current(deployment.deployment_id).status is DeploymentStatus.DEPLOYED
