"""A deployment with `resourcePoolId` is placed on that pool's nodes: the service resolves the pool to its node
selector once, at creation, every later operation hands the same selector to the backend, and what cannot be placed
is refused with 422 before anything is stored or queued."""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.domain.deployments import OperationType
from chalicelib.domain.errors import NetweaveError
from chalicelib.domain.placement import PlacementNotPossible
from chalicelib.services.deployments import ReferenceNotFound
from tests.unit.fakes.deployments import DmsWorld
from tests.unit.fakes.dms import FakeDeploymentAdapter

SELECTOR = {"eks.amazonaws.com/nodegroup": "vdu-pool"}
POOLS = {"pool-vdu": {"name": "vdu-pool", "extensions": {"nodeSelector": SELECTOR}},
         "pool-default": {"name": "default", "extensions": {"nodeCount": 3}}}


class GitOpsLike(FakeDeploymentAdapter):
    placement_refusal = "this backend renders charts itself, with no post-renderer"


@pytest.fixture()
def world(tmp_path: Path) -> DmsWorld:
    return DmsWorld(tmp_path, adapters=[FakeDeploymentAdapter(), GitOpsLike("gitops")], pools=dict(POOLS))


def _nothing_accepted(world: DmsWorld) -> bool:
    return not list(world.store.all()) and not world.queue.submitted


def test_the_pools_selector_reaches_install_scale_and_upgrade(world: DmsWorld) -> None:
    package = world.packages.add("vdu", "1.0.0")
    deployment, operation = world.accept_create("vdu", package, resource_pool_id="pool-vdu")
    assert deployment.extensions["nodeSelector"] == SELECTOR, "shown to the SMO: where its pods may run"
    assert world.run(operation.operation_id) == "succeeded"
    world.complete(deployment.deployment_id, OperationType.SCALE, {"replicas": 3})
    world.complete(deployment.deployment_id, OperationType.UPGRADE, {"values": {"replicaCount": 2}})
    assert world.adapter.placements == [("install", SELECTOR), ("scale", SELECTOR), ("upgrade", SELECTOR)]


def test_without_a_pool_nothing_is_placed(world: DmsWorld) -> None:
    deployment = world.deployed("free", world.packages.add("vdu", "1.0.0"))
    assert "nodeSelector" not in deployment.extensions
    assert world.adapter.placements == [("install", None)]


def test_a_pool_without_a_node_selector_is_422_naming_why(world: DmsWorld) -> None:
    with pytest.raises(PlacementNotPossible) as refused:
        world.accept_create("vdu", world.packages.add("vdu", "1.0.0"), resource_pool_id="pool-default")
    assert refused.value.status == 422 and "no node selector" in refused.value.detail
    assert "pool-default" in refused.value.detail
    assert _nothing_accepted(world)


def test_a_backend_that_cannot_place_is_422_naming_why(world: DmsWorld) -> None:
    with pytest.raises(PlacementNotPossible) as refused:
        world.accept_create("vdu", world.packages.add("vdu", "1.0.0"), adapter_id="gitops",
                            resource_pool_id="pool-vdu")
    assert refused.value.status == 422
    assert "backend 'gitops'" in refused.value.detail and "no post-renderer" in refused.value.detail
    assert _nothing_accepted(world)
    # the same backend deploys without a pool
    world.deployed("free", world.packages.add("other", "1.0.0"), adapter_id="gitops")


def test_an_unknown_pool_is_still_an_unknown_reference(world: DmsWorld) -> None:
    with pytest.raises(ReferenceNotFound) as refused:
        world.accept_create("vdu", world.packages.add("vdu", "1.0.0"), resource_pool_id="nope")
    assert isinstance(refused.value, NetweaveError) and refused.value.status == 422
    assert _nothing_accepted(world)
