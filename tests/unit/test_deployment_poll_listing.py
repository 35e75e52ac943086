"""poll_deployments against a backend that lists releases (as the helm backend does with `helm list`): one listing
per namespace answers for every polled deployment there, no per-deployment status read, and the poll's guarantees
hold as with per-deployment reads: a release gone or not netweave's fails its deployment without recording anything
of it, an unreachable backend is asked once, a bug in one namespace's listing leaves the other namespaces polled."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import pytest

from chalicelib.adapters.dms.port import ReleaseLister, ReleaseStatus
from chalicelib.domain.deployments import Deployment, DeploymentEventType, DeploymentStatus
from chalicelib.domain.packages import DeploymentPackage
from chalicelib.services.deployment_poll import poll_deployments
from tests.unit.fakes.deployments import DmsWorld
from tests.unit.fakes.dms import FakeDeploymentAdapter

DU, CU = "oran-du", "oran-cu"


class ListingAdapter(FakeDeploymentAdapter):
    """The fake backend plus `statuses`: one call answers for all named releases of a namespace (a bug can be
    planted in one namespace's listing)."""

    def __init__(self, adapter_id: str = "fake-dms") -> None:
        super().__init__(adapter_id)
        self.listings: list[tuple[str, list[str]]] = []
        self.broken_namespace: str | None = None

    def statuses(self, namespace: str, names: Collection[str]) -> dict[str, ReleaseStatus]:
        self._enter("statuses", namespace, "*")
        self.listings.append((namespace, sorted(names)))
        if namespace == self.broken_namespace:
            raise TypeError("a mapping bug")
        return {name: self._status(release) for (ns, name), release in self.releases.items()
                if ns == namespace and name in names}


@pytest.fixture()
def adapter() -> ListingAdapter:
    return ListingAdapter()


@pytest.fixture()
def world(tmp_path: Path, adapter: ListingAdapter) -> DmsWorld:
    return DmsWorld(tmp_path, adapters=[adapter])


@pytest.fixture()
def v1(world: DmsWorld) -> DeploymentPackage:
    return world.packages.add("vdu", "1.0.0")


def deployed(world: DmsWorld, name: str, namespace: str, package: DeploymentPackage,
             replicas: int = 1) -> Deployment:
    deployment, operation = world.accept_create(name, package, {"replicaCount": replicas}, namespace=namespace)
    assert world.run(operation.operation_id) == "succeeded"
    return world.current(deployment.deployment_id)


def test_the_fake_lists_releases_as_the_poller_expects() -> None:
    assert isinstance(ListingAdapter(), ReleaseLister) and not isinstance(FakeDeploymentAdapter(), ReleaseLister)


def test_one_listing_per_namespace_answers_for_all_its_deployments(
        world: DmsWorld, adapter: ListingAdapter, v1: DeploymentPackage) -> None:
    du = [deployed(world, f"du-{n}", DU, v1) for n in range(3)]
    cu = [deployed(world, f"cu-{n}", CU, v1) for n in range(2)]
    adapter.calls.clear()
    world.publisher.events.clear()
    adapter.releases[(DU, "du-1")].current.values["replicaCount"] = 4  # scaled outside netweave
    del adapter.releases[(CU, "cu-0")]

    report = poll_deployments(world.poll_ports())

    assert sorted(adapter.listings) == [(CU, ["cu-0", "cu-1"]), (DU, ["du-0", "du-1", "du-2"])]
    assert [call for call, _, _ in adapter.calls] == ["statuses", "statuses"]  # no per-deployment status read
    assert (report.checked, report.changed, report.failed) == (5, 2, [])
    assert world.current(du[1].deployment_id).extensions["replicas"] == {"desired": 4, "ready": 4}
    gone = world.current(cu[0].deployment_id)
    assert gone.status is DeploymentStatus.FAILED
    assert gone.extensions["statusReason"] == "the release no longer exists in the cluster"
    assert [(e.object_id, e.detail_type) for e in world.publisher.events] == [
        (cu[0].deployment_id, DeploymentEventType.FAILED.value)]
    untouched = [d for d in du + cu if d not in (du[1], cu[0])]
    assert all(world.current(d.deployment_id) == d for d in untouched)


def test_a_listed_release_that_is_not_the_deployments_fails_it_and_nothing_of_it_is_recorded(
        world: DmsWorld, adapter: ListingAdapter, v1: DeploymentPackage) -> None:
    deployment = deployed(world, "du-0", DU, v1, replicas=2)
    taken = adapter.releases[(DU, "du-0")]
    taken.owner = "another-deployment"
    taken.current.values["replicaCount"] = 7

    poll_deployments(world.poll_ports())

    after = world.current(deployment.deployment_id)
    assert after.status is DeploymentStatus.FAILED
    assert "is not this deployment's" in after.extensions["statusReason"]
    assert after.extensions["replicas"] == {"desired": 2, "ready": 2}  # the other release's 7 never recorded


def test_an_unreachable_backend_is_listed_once_and_its_deployments_marked(
        world: DmsWorld, adapter: ListingAdapter, v1: DeploymentPackage) -> None:
    deployments = [deployed(world, f"du-{n}", DU, v1) for n in range(2)] + [deployed(world, "cu-0", CU, v1)]
    adapter.calls.clear()
    world.publisher.events.clear()
    adapter.unavailable = True

    report = poll_deployments(world.poll_ports())

    assert report.unreachable == [adapter.adapter_id] and len(adapter.calls) == 1
    for deployment in deployments:
        current = world.current(deployment.deployment_id)
        assert current.status is DeploymentStatus.DEPLOYED
        assert current.extensions["backendStatus"]["reachable"] is False
    assert world.publisher.events == []


def test_a_bug_in_one_namespaces_listing_fails_only_its_deployments_and_is_listed_once(
        world: DmsWorld, adapter: ListingAdapter, v1: DeploymentPackage) -> None:
    broken = [deployed(world, f"du-{n}", DU, v1) for n in range(2)]
    healthy = deployed(world, "cu-0", CU, v1)
    adapter.releases[(CU, "cu-0")].current.values["replicaCount"] = 3
    adapter.broken_namespace = DU

    report = poll_deployments(world.poll_ports())

    assert sorted(report.failed) == sorted(d.deployment_id for d in broken)
    assert [namespace for namespace, _ in adapter.listings].count(DU) == 1
    assert world.current(healthy.deployment_id).extensions["replicas"] == {"desired": 3, "ready": 3}
