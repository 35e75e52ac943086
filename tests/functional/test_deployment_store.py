"""The deployment store's concurrency rules against (moto) DynamoDB — and the same contract against the in-memory
`FakeDeploymentStore` the unit tests use, so the fake cannot drift from the real store: name claims are unique, one
operation holds a deployment at a time, only the holder writes or releases it, the poller writes only a deployment
nothing wrote since it read it, an operation is claimed by one worker per lease, operations are found by status with
their leases, a removal leaves the operation record."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any, cast

import boto3
import pytest

from chalicelib import resources
from chalicelib.adapters.store.deployment_store import DeploymentStore, start_key_after
from chalicelib.bootstrap import Components
from chalicelib.domain.deployments import (
    Deployment,
    DeploymentExists,
    DeploymentStatus,
    Operation,
    OperationInProgress,
    OperationStatus,
    OperationType,
)
from chalicelib.domain.errors import NotFound
from devtools.localstack.provision import _create_table
from tests.unit.fakes.deployments import FakeDeploymentStore

NOW = 1_800_000_000


class StoreFactory:
    """Stores over one table: for DynamoDB each with its own client (as concurrent Lambdas have) over a fresh table
    per test, so listings see only the test's items; for the fake, the one shared instance."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self.request = request
        self.fake = cast(DeploymentStore, FakeDeploymentStore()) if request.param == "fake" else None
        self.table = ""
        if self.fake is None:
            request.getfixturevalue("moto_url")
            self.table = f"netweave-test-deployments-{uuid.uuid4().hex[:12]}"
            _create_table(boto3.client("dynamodb"), self.table, resources.DEPLOYMENTS)

    def __call__(self, atomic_requests: bool = False) -> DeploymentStore:
        if self.fake is not None:
            return self.fake
        endpoint = self.request.getfixturevalue("serial_moto_url") if atomic_requests else None
        return DeploymentStore(boto3.client("dynamodb", endpoint_url=endpoint), self.table)


@pytest.fixture(params=["dynamodb", "fake"])
def stores(request: pytest.FixtureRequest) -> StoreFactory:
    return StoreFactory(request)


@pytest.fixture()
def store(stores: StoreFactory) -> DeploymentStore:
    return stores()


def new_operation(deployment_id: str, kind: OperationType = OperationType.CREATE,
                  status: OperationStatus = OperationStatus.QUEUED, lease_until: int | None = None,
                  operation_id: str | None = None) -> Operation:
    return Operation(operation_id=operation_id or str(uuid.uuid4()), deployment_id=deployment_id,
                     operation_type=kind, status=status, parameters={"values": {"ü": 1}},
                     created_at="2026-01-01T00:00:00.000Z", lease_until=lease_until)


def new_deployment(name: str | None = None, namespace: str = "oran-du", adapter: str = "helm",
                   package_id: str = "pkg-1", holder: str | None = None,
                   status: DeploymentStatus = DeploymentStatus.PENDING) -> Deployment:
    extensions: dict[str, Any] = {"dmsAdapter": adapter}
    if holder:
        extensions["activeOperationId"] = holder
    return Deployment(deployment_id=str(uuid.uuid4()), name=name or f"du-{uuid.uuid4().hex[:8]}", namespace=namespace,
                      package_id=package_id, package_version="1.0.0", status=status, values={"replicaCount": 1},
                      created_at="2026-01-01T00:00:00.000Z", updated_at="2026-01-01T00:00:00.000Z",
                      extensions=extensions)


def held_by(deployment: Deployment, operation_id: str | None) -> Deployment:
    extensions = {k: v for k, v in deployment.extensions.items() if k != "activeOperationId"}
    if operation_id:
        extensions["activeOperationId"] = operation_id
    return deployment.model_copy(update={"extensions": extensions})


def created(store: DeploymentStore, **fields: Any) -> tuple[Deployment, Operation]:
    """A deployment as `create_deployment` writes it: held by its create operation."""
    operation_id = str(uuid.uuid4())
    deployment = new_deployment(holder=operation_id, **fields)
    operation = new_operation(deployment.deployment_id, operation_id=operation_id)
    store.create(deployment, operation)
    return deployment, operation


def idle(store: DeploymentStore, **fields: Any) -> Deployment:
    """A deployment whose create finished: deployed, unlocked."""
    deployment, operation = created(store, **fields)
    deployed = held_by(deployment, None).model_copy(update={"status": DeploymentStatus.DEPLOYED})
    store.finish(deployed, operation.model_copy(update={"status": OperationStatus.SUCCEEDED}))
    return deployed


# --- create and the name claim ---------------------------------------------------------------------------------------

def test_created_deployment_and_operation_read_back_as_written(store: DeploymentStore) -> None:
    deployment, operation = created(store, name="du-rt")
    assert store.get(deployment.deployment_id) == deployment
    assert store.get_operation(operation.operation_id) == operation
    assert store.get("no-such-deployment") is None and store.get_operation("no-such-operation") is None


def test_a_second_deployment_of_one_release_name_is_refused(store: DeploymentStore) -> None:
    name = f"du-{uuid.uuid4().hex[:8]}"
    first, _ = created(store, name=name)
    second = new_deployment(name=name, holder="op-2")
    second_operation = new_operation(second.deployment_id, operation_id=f"op-{uuid.uuid4()}")

    with pytest.raises(DeploymentExists) as refused:
        store.create(second, second_operation)

    assert refused.value.status == 409 and name in refused.value.detail
    assert store.get(second.deployment_id) is None
    assert store.get_operation(second_operation.operation_id) is None  # the transaction wrote nothing
    assert store.get(first.deployment_id) == first
    created(store, name=name, namespace="oran-cu")  # another namespace: another release
    created(store, name=name, adapter="helm-edge")  # another backend: another cluster


def test_a_deployment_id_is_never_written_twice(store: DeploymentStore) -> None:
    first, _ = created(store)
    again = first.model_copy(update={"name": f"du-{uuid.uuid4().hex[:8]}"})
    with pytest.raises(DeploymentExists):
        store.create(again, new_operation(first.deployment_id))
    assert store.get(first.deployment_id) == first


# --- the lock ------------------------------------------------------------------------------------------------------

def contend(store: DeploymentStore, deployment: Deployment, operation: Operation, start: threading.Barrier,
            outcomes: dict[str, BaseException | None]) -> None:
    """One API call accepting `operation`, released with its rival's by `start`; records how it ended."""
    start.wait()
    try:
        store.start_operation(held_by(deployment, operation.operation_id), operation)
    except Exception as refused:
        outcomes[operation.operation_id] = refused
    else:
        outcomes[operation.operation_id] = None


def test_of_two_concurrent_operations_exactly_one_takes_the_deployment(stores: StoreFactory) -> None:
    setup = stores()
    for _ in range(5):
        deployment = idle(setup)
        start = threading.Barrier(2)
        outcomes: dict[str, BaseException | None] = {}
        threads = [threading.Thread(target=contend, args=(
            stores(atomic_requests=True), deployment, new_operation(deployment.deployment_id, OperationType.SCALE),
            start, outcomes)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

        winners = [op for op, error in outcomes.items() if error is None]
        losers = [error for error in outcomes.values() if error is not None]
        assert len(winners) == 1 and len(losers) == 1, outcomes
        assert isinstance(losers[0], OperationInProgress) and losers[0].status == 409
        assert winners[0] in losers[0].detail
        assert setup.get(deployment.deployment_id) == held_by(deployment, winners[0])
        [loser_id] = set(outcomes) - set(winners)
        assert setup.get_operation(loser_id) is None


def test_an_operation_on_a_missing_deployment_is_not_found(store: DeploymentStore) -> None:
    ghost = new_deployment(holder="op-x")
    with pytest.raises(NotFound):
        store.start_operation(ghost, new_operation(ghost.deployment_id, operation_id="op-x"))
    assert store.get(ghost.deployment_id) is None


def test_only_the_holder_saves_progress(store: DeploymentStore) -> None:
    deployment, operation = created(store)
    deploying = deployment.model_copy(update={"status": DeploymentStatus.DEPLOYING})
    assert store.save_progress(deploying, operation.operation_id)
    assert store.get(deployment.deployment_id) == deploying
    assert not store.save_progress(deploying.model_copy(update={"status": DeploymentStatus.FAILED}), "op-other")
    assert store.get(deployment.deployment_id) == deploying
    assert not store.save_progress(new_deployment(holder="op-y"), "op-y")


def test_finish_releases_the_lock_for_the_next_operation(store: DeploymentStore) -> None:
    deployment, operation = created(store)
    deployed = held_by(deployment, None).model_copy(update={"status": DeploymentStatus.DEPLOYED})
    succeeded = operation.model_copy(update={"status": OperationStatus.SUCCEEDED, "result": {"revision": 1}})

    store.finish(deployed, succeeded)

    assert store.get(deployment.deployment_id) == deployed
    assert store.get_operation(operation.operation_id) == succeeded
    scale = new_operation(deployment.deployment_id, OperationType.SCALE)
    store.start_operation(held_by(deployed, scale.operation_id), scale)
    current = store.get(deployment.deployment_id)
    assert current is not None and current.active_operation_id == scale.operation_id


def test_finish_by_an_operation_not_holding_the_deployment_only_records_the_operation(
        store: DeploymentStore) -> None:
    deployment, _ = created(store)
    stranger = new_operation(deployment.deployment_id, OperationType.SCALE)
    failed = stranger.model_copy(update={"status": OperationStatus.FAILED})

    store.finish(held_by(deployment, None).model_copy(update={"status": DeploymentStatus.FAILED}), failed)

    assert store.get(deployment.deployment_id) == deployment  # still held by its own operation
    assert store.get_operation(stranger.operation_id) == failed
    gone = new_deployment()
    lost = new_operation(gone.deployment_id, status=OperationStatus.SUCCEEDED)
    store.finish(gone, lost)  # the deployment was removed meanwhile: the record is kept all the same
    assert store.get(gone.deployment_id) is None and store.get_operation(lost.operation_id) == lost


def at(minute: int) -> str:
    return f"2026-01-01T00:{minute:02d}:00.000Z"


def test_the_poller_writes_only_an_idle_deployment_nobody_wrote_since_it_read_it(store: DeploymentStore) -> None:
    deployment = idle(store)
    degraded = deployment.model_copy(update={"status": DeploymentStatus.DEPLOYING, "updated_at": at(1)})
    assert not store.observe(degraded, at(9))  # read at another time: something wrote it since
    assert store.observe(degraded, deployment.updated_at)
    assert store.get(deployment.deployment_id) == degraded
    assert not store.observe(degraded.model_copy(update={"updated_at": at(2)}), deployment.updated_at)  # stale now

    operation = new_operation(deployment.deployment_id, OperationType.SCALE)
    store.start_operation(held_by(degraded, operation.operation_id), operation)
    assert not store.observe(deployment, degraded.updated_at)  # locked: the worker's, even with updatedAt unchanged
    assert not store.observe(new_deployment(status=DeploymentStatus.DEPLOYED), at(0))  # missing
    current = store.get(deployment.deployment_id)
    assert current is not None and current.active_operation_id == operation.operation_id


def test_the_poller_cannot_write_over_an_operation_that_came_and_went(store: DeploymentStore) -> None:
    read_by_poller = idle(store, package_id="pkg-v1")
    upgrade = new_operation(read_by_poller.deployment_id, OperationType.UPGRADE)
    store.start_operation(held_by(read_by_poller, upgrade.operation_id), upgrade)
    upgraded = read_by_poller.model_copy(update={"package_id": "pkg-v2", "package_version": "2.0.0",
                                                 "updated_at": at(5)})
    store.finish(upgraded, upgrade.model_copy(update={"status": OperationStatus.SUCCEEDED}))

    stale = read_by_poller.model_copy(update={"updated_at": at(6)})
    assert not store.observe(stale, read_by_poller.updated_at)  # same status, no lock: only updatedAt tells
    assert store.get(read_by_poller.deployment_id) == upgraded
    assert store.uses_package("pkg-v2") and not store.uses_package("pkg-v1")


# --- claiming an operation -------------------------------------------------------------------------------------------

def running(operation: Operation, lease_until: int, attempts: int = 1) -> Operation:
    return operation.model_copy(update={"status": OperationStatus.RUNNING, "attempts": attempts,
                                        "lease_until": lease_until})


def test_an_operation_is_claimed_when_queued_or_when_its_lease_is_over(store: DeploymentStore) -> None:
    _, operation = created(store)
    assert store.claim_operation(running(operation, NOW + 420), NOW)  # queued
    assert not store.claim_operation(running(operation, NOW + 900, 2), NOW + 419)  # a live lease
    assert not store.claim_operation(running(operation, NOW + 900, 2), NOW + 420)  # not over yet at its end
    assert store.claim_operation(running(operation, NOW + 900, 2), NOW + 421)  # over: taken over
    claimed = store.get_operation(operation.operation_id)
    assert claimed is not None and claimed.attempts == 2 and claimed.status is OperationStatus.RUNNING
    assert claimed.lease_until is None  # the lease lives beside the document, never in it


@pytest.mark.parametrize("status", [OperationStatus.SUCCEEDED, OperationStatus.FAILED])
def test_a_finished_operation_is_never_claimed(store: DeploymentStore, status: OperationStatus) -> None:
    _, operation = created(store)
    store.save_operation(operation.model_copy(update={"status": status}))
    assert not store.claim_operation(running(operation, NOW + 420), NOW)
    assert not store.claim_operation(running(operation, NOW + 420), NOW + 10**9)
    after = store.get_operation(operation.operation_id)
    assert after is not None and after.status is status


def test_a_running_operation_without_a_lease_and_a_missing_one_are_not_claimed(store: DeploymentStore) -> None:
    _, operation = created(store)
    store.save_operation(operation.model_copy(update={"status": OperationStatus.RUNNING}))
    assert not store.claim_operation(running(operation, NOW + 420), NOW + 10**9)
    assert not store.claim_operation(running(new_operation("d-x"), NOW + 420), NOW)
    assert store.get_operation("d-x") is None


def test_progress_saved_under_a_lease_keeps_the_lease(store: DeploymentStore) -> None:
    _, operation = created(store)
    claimed = running(operation, NOW + 420)
    assert store.claim_operation(claimed, NOW)
    store.save_operation(claimed.with_progress("2026-01-01T00:00:01.000Z", "installing"))
    assert not store.claim_operation(running(operation, NOW + 900, 2), NOW + 100)
    assert store.claim_operation(running(operation, NOW + 900, 2), NOW + 421)


def test_queued_operations_are_the_queued_ones_only(store: DeploymentStore) -> None:
    _, queued = created(store)
    _, claimed = created(store)
    _, done = created(store)
    assert store.claim_operation(running(claimed, NOW + 420), NOW)
    store.save_operation(done.model_copy(update={"status": OperationStatus.SUCCEEDED}))
    idle(store)

    assert [o.operation_id for o in store.queued_operations()] == [queued.operation_id]
    assert store.queued_operations() == [queued]


def test_operations_in_a_status_come_with_their_lease_and_never_include_deployments(store: DeploymentStore) -> None:
    _, queued = created(store)
    _, leased = created(store)
    _, given_up = created(store)
    _, unleased = created(store)
    assert store.claim_operation(running(leased, NOW + 420), NOW)
    assert store.claim_operation(running(given_up, NOW + 420), NOW)
    store.save_operation(running(given_up, 0))  # a run that asked for a retry gives its lease up
    store.save_operation(unleased.model_copy(update={"status": OperationStatus.RUNNING}))
    failed_deployment, create = created(store)
    failed_operation = create.model_copy(update={"status": OperationStatus.FAILED})
    store.finish(held_by(failed_deployment, None).model_copy(update={"status": DeploymentStatus.FAILED}),
                 failed_operation)  # a deployment and an operation, both `failed`

    assert store.operations_in("queued") == [(queued, None)]
    found = {o.operation_id: (o.status, lease) for o, lease in store.operations_in("running")}
    assert found == {leased.operation_id: (OperationStatus.RUNNING, NOW + 420),
                     given_up.operation_id: (OperationStatus.RUNNING, 0),
                     unleased.operation_id: (OperationStatus.RUNNING, None)}
    assert [o for o, _ in store.operations_in("running")] == sorted(
        (o for o, _ in store.operations_in("running")), key=lambda o: o.operation_id)  # the index's order
    assert store.operations_in("failed") == [(failed_operation, None)]
    assert store.operations_in("deployed") == [] and store.operations_in("succeeded") == []
    assert store.claim_operation(running(given_up, NOW + 420, 2), NOW)  # a given-up lease is claimed at once


class PagingClient:
    """A DynamoDB client whose byStatus query answers one item per page, as DynamoDB does past 1 MB."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        self.queries: list[dict[str, Any]] = []

    def query(self, **query: Any) -> dict[str, Any]:
        self.queries.append(query)
        start = int(query["ExclusiveStartKey"]["sk"]["S"]) + 1 if "ExclusiveStartKey" in query else 0
        reply: dict[str, Any] = {"Items": self.items[start:start + 1]}
        if start + 1 < len(self.items):
            reply["LastEvaluatedKey"] = {"sk": {"S": str(start)}}
        return reply


def test_operations_in_reads_every_page_of_the_index() -> None:
    operations = [new_operation("d-1", status=OperationStatus.QUEUED, operation_id=f"op-{i}") for i in range(3)]
    items: list[dict[str, Any]] = [{"pk": {"S": "Operation"}, "doc": {"S": json.dumps(o.to_wire())}}
                                   for o in operations]
    items.insert(1, {"pk": {"S": "Deployment"}, "doc": {"S": "{}"}})  # never parsed as an operation
    client = PagingClient(items)

    assert DeploymentStore(client, "t").operations_in("queued") == [(o, None) for o in operations]
    assert len(client.queries) == 4 and all(q["IndexName"] == "byStatus" for q in client.queries)
    assert {q["ExpressionAttributeValues"][":s"]["S"] for q in client.queries} == {"queued"}


# --- remove, revisions, package usage, paging --------------------------------------------------------------------

def test_remove_deletes_deployment_name_claim_and_revisions_but_keeps_the_operation(store: DeploymentStore) -> None:
    deployment = idle(store, name="du-removed")
    for revision in (1, 2):
        store.record_revision(deployment.deployment_id, revision, "pkg-1", "1.0.0", {"r": revision}, "op")
    delete = new_operation(deployment.deployment_id, OperationType.DELETE)
    store.start_operation(held_by(deployment, delete.operation_id), delete)
    deleted = delete.model_copy(update={"status": OperationStatus.SUCCEEDED, "result": {"status": "deleted"}})

    store.remove(held_by(deployment, delete.operation_id), deleted)

    assert store.get(deployment.deployment_id) is None
    assert store.revisions(deployment.deployment_id) == []
    assert store.get_operation(delete.operation_id) == deleted
    assert not store.uses_package("pkg-1")
    again, _ = created(store, name="du-removed")  # the release name is free again
    assert store.get(again.deployment_id) == again


def test_revisions_are_listed_oldest_first(store: DeploymentStore) -> None:
    deployment = idle(store)
    for revision in (10, 2, 1):
        store.record_revision(deployment.deployment_id, revision, f"pkg-{revision}", f"{revision}.0.0",
                              {"n": revision}, f"op-{revision}")
    recorded = store.revisions(deployment.deployment_id)
    assert [r["revision"] for r in recorded] == [1, 2, 10]
    assert {k: recorded[-1][k] for k in ("packageId", "packageVersion", "values", "operationId")} == {
        "packageId": "pkg-10", "packageVersion": "10.0.0", "values": {"n": 10}, "operationId": "op-10"}
    store.record_revision(deployment.deployment_id, 2, "pkg-2b", "2.0.1", {}, "op-again")  # rewritten, not added
    assert [r["packageId"] for r in store.revisions(deployment.deployment_id)] == ["pkg-1", "pkg-2b", "pkg-10"]


def test_a_package_is_in_use_while_a_deployment_runs_it(store: DeploymentStore) -> None:
    assert not store.uses_package("pkg-a")
    for _ in range(3):
        idle(store, package_id="pkg-other")
    deployment = idle(store, package_id="pkg-a")
    assert store.uses_package("pkg-a") and not store.uses_package("pkg-b")
    operation = new_operation(deployment.deployment_id, OperationType.UPGRADE)
    store.start_operation(held_by(deployment, operation.operation_id), operation)
    upgraded = deployment.model_copy(update={"package_id": "pkg-b"})
    store.finish(upgraded, operation.model_copy(update={"status": OperationStatus.SUCCEEDED}))
    assert store.uses_package("pkg-b") and not store.uses_package("pkg-a")


def test_pages_walk_every_deployment_once_in_id_order(store: DeploymentStore) -> None:
    written = sorted(idle(store).deployment_id for _ in range(7))
    seen: list[str] = []
    start: dict[str, Any] | None = None
    for _ in range(10):
        found, start = store.page(3, start)
        assert len(found) <= 3
        seen.extend(d.deployment_id for d in found)
        if start is None:
            break
    assert seen == written
    assert [d.deployment_id for d in store.all()] == written
    first, _ = store.page(2)
    resumed, _ = store.page(2, start_key_after(first[-1]))
    assert [d.deployment_id for d in first + resumed] == written[:4]


def test_the_dev_stage_table_serves_the_configured_store(components: Components, moto_url: str) -> None:
    store = components.deployment_store
    deployment, operation = created(store)
    assert store.get(deployment.deployment_id) == deployment
    assert operation.operation_id in {o.operation_id for o in store.queued_operations()}
