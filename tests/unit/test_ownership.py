"""Ownership markers (chalicelib/domain/ownership.py) and how the worker and the poller treat a release netweave does
not own: a create fails 409 without recording the other release, a delete of a deployment that never installed
anything removes only netweave's record, other operations are refused with the deployment's status kept, and the
poller and the read routes never report someone else's release as this deployment's. Through the fake backend,
no I/O."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.deployments import DeploymentStatus, OperationStatus, OperationType
from chalicelib.domain.ownership import (
    DEPLOYMENT_LABEL,
    MANAGED_BY_TAG,
    NotOwned,
    deployment_labels,
    owned_by,
    require_owned,
    require_pool_owned,
)
from chalicelib.services.deployment_poll import poll_deployments
from chalicelib.services.deployments import deployment_history, deployment_logs, deployment_status
from tests.unit.fakes.deployments import SMO, DmsWorld
from tests.unit.fakes.dms import FakeDeploymentAdapter, _Release

NAMESPACE = "oran-du"
ID = "7c1e2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"


def test_the_marker_names_one_deployment_and_nothing_else_matches() -> None:
    labels = deployment_labels(ID)
    assert labels == {DEPLOYMENT_LABEL: ID, "app.kubernetes.io/managed-by": "netweave"}
    assert owned_by(labels, ID)
    assert not owned_by(labels, "another-id") and not owned_by({}, ID) and not owned_by(None, ID)
    assert not owned_by({DEPLOYMENT_LABEL: ""}, "")  # an id lost on the way never matches an empty marker


def test_refusals_say_what_and_how_to_adopt_without_naming_another_deployment() -> None:
    with pytest.raises(NotOwned) as unmarked:
        require_owned("helm release 'du' in namespace 'ran'", {"owner": "helm"}, ID, "label it")
    assert (unmarked.value.status, unmarked.value.slug) == (409, "not-owned")
    assert "helm release 'du' in namespace 'ran' was not created by netweave" in unmarked.value.detail
    assert "nothing was changed" in unmarked.value.detail and unmarked.value.detail.endswith(f"{ID}: label it")
    with pytest.raises(NotOwned, match="belongs to another netweave deployment") as taken:
        require_owned("x", {DEPLOYMENT_LABEL: "other-tenant-deployment"}, ID, "label it")
    assert "other-tenant-deployment" not in taken.value.detail
    require_owned("x", deployment_labels(ID), ID, "label it")


def test_pools_are_netweaves_only_with_its_tag() -> None:
    require_pool_owned("node group", {MANAGED_BY_TAG: "netweave", "team": "ran"})
    for tags in ({}, None, {MANAGED_BY_TAG: "someone-else"}):
        with pytest.raises(NotOwned, match="node group was not created by netweave"):
            require_pool_owned("node group", tags)


@pytest.fixture()
def world(tmp_path: Path) -> DmsWorld:
    (tmp_path / "work").mkdir()
    return DmsWorld(tmp_path / "work", adapters=[FakeDeploymentAdapter()])


def operator_release(world: DmsWorld, name: str) -> _Release:
    """A release the operator installed, outside netweave (no marker)."""
    release = _Release(name, NAMESPACE)
    world.adapter._deploy(release, "/charts/ops-1.0.0.tgz", {"replicaCount": 1}, "Install complete")
    world.adapter.releases[(NAMESPACE, name)] = release
    return release


def test_create_over_an_operator_release_fails_409_and_records_nothing_of_it(world: DmsWorld) -> None:
    theirs = operator_release(world, "du-1")
    deployment, operation = world.accept_create("du-1", world.packages.add("vdu", "1.0.0"), {"replicaCount": 3})
    assert world.run(operation.operation_id) == "failed"

    finished = world.operation(operation.operation_id)
    assert finished.status is OperationStatus.FAILED and finished.error is not None
    assert finished.error.status == 409 and "was not created by netweave" in finished.error.detail
    failed = world.current(deployment.deployment_id)
    assert failed.status is DeploymentStatus.FAILED and failed.active_operation_id is None
    assert failed.revision is None and "replicas" not in failed.extensions
    assert world.store.revisions(deployment.deployment_id) == []
    assert [r.number for r in theirs.revisions] == [1] and theirs.current.values == {"replicaCount": 1}

    poll_deployments(world.poll_ports())  # the poller does not take the operator's release for this deployment's
    polled = world.current(deployment.deployment_id)
    assert polled.status is DeploymentStatus.FAILED and polled.revision is None
    assert "is not this deployment's" in polled.extensions["statusReason"]

    # Nor do the read routes show the operator's release (its pods' logs may hold secrets) as this deployment's.
    ports = world.deployment_ports()
    status = deployment_status(ports, deployment.deployment_id, access=SMO)
    assert "release" not in status and status["workloads"] == [] and status["pods"] == []
    assert deployment_logs(ports, deployment.deployment_id, None, None, None, access=SMO) == []
    assert deployment_history(ports, deployment.deployment_id, access=SMO) == []

    delete = world.accept(deployment.deployment_id, OperationType.DELETE)
    assert world.run(delete.operation_id) == "succeeded"
    assert world.store.get(deployment.deployment_id) is None  # only netweave's record goes
    assert world.adapter.releases[(NAMESPACE, "du-1")] is theirs and len(theirs.revisions) == 1


@pytest.mark.parametrize("kind", [OperationType.SCALE, OperationType.UPDATE, OperationType.DELETE])
def test_operations_on_a_release_that_lost_its_marker_are_refused_and_the_deployment_keeps_its_status(
        world: DmsWorld, kind: OperationType) -> None:
    deployment = world.deployed("du-2", world.packages.add("vdu", "1.0.0"), {"replicaCount": 1})
    release = world.adapter.releases[(NAMESPACE, "du-2")]
    assert release.owner == deployment.deployment_id
    release.owner = None  # e.g. installed by a netweave version without markers

    parameters: dict[OperationType, dict[str, Any]] = {OperationType.SCALE: {"replicas": 4},
                                                       OperationType.UPDATE: {"values": {"replicaCount": 2}}}
    operation = world.accept(deployment.deployment_id, kind, parameters.get(kind, {}))
    assert world.run(operation.operation_id) == "refused"
    finished = world.operation(operation.operation_id)
    assert finished.error is not None and finished.error.status == 409
    kept = world.current(deployment.deployment_id)
    assert kept.status is DeploymentStatus.DEPLOYED and kept.active_operation_id is None and kept.revision == 1
    assert [r.number for r in release.revisions] == [1]
