"""Deployments from templates with fakes (services/deployments_from_templates.py): what is refused before anything is
written, the pool a filter picks, and what an upgrade to another template version records and asks of the backend."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, cast

import pytest
from pydantic import ValidationError

from chalicelib.adapters.dms.port import ReleaseSpec, ReleaseStatus
from chalicelib.adapters.store.deployment_template_store import DeploymentTemplateStore
from chalicelib.api.deployments import CreateDeploymentRequest, UpgradeRequest
from chalicelib.domain.deployment_templates import DeploymentParametersInvalid, DeploymentTemplate
from chalicelib.domain.deployments import OperationType
from chalicelib.domain.errors import UnprocessableContent
from chalicelib.domain.tenancy import Access
from chalicelib.services.deployments import DeploymentPorts
from chalicelib.services.deployments_from_templates import (
    PoolFilterNotSingle,
    TemplatedDeployment,
    TemplateUpgradeRefused,
    create_from_template,
    upgrade_to_template,
)
from tests.unit.fakes.deployments import SMO, DmsWorld
from tests.unit.fakes.dms import FakeDeploymentAdapter

SCHEMA = {"type": "object", "required": ["site", "cellId"],
          "properties": {"site": {"type": "string"}, "cellId": {"type": "integer", "minimum": 1}}}
POOL = {"extensions": {"nodeSelector": {"netweave.io/resource-pool": "du-a"}}}


class AtomicAdapter(FakeDeploymentAdapter):
    """A backend that can undo a failed upgrade; remembers the specs it was given."""

    rolls_back_on_failure = True

    def __init__(self) -> None:
        super().__init__()
        self.specs: list[ReleaseSpec] = []

    def upgrade(self, spec: ReleaseSpec) -> ReleaseStatus:
        self.specs.append(spec)
        return super().upgrade(spec)


class Templates:
    def __init__(self) -> None:
        self.by_id: dict[str, DeploymentTemplate] = {}

    def get(self, template_id: str) -> DeploymentTemplate | None:
        return self.by_id.get(template_id)

    def add(self, template_id: str, version: str, package_id: str, owner: str | None = None,
            **data: Any) -> str:
        wire = {"deploymentTemplateId": template_id, "name": "vdu", "version": version, "packageId": package_id,
                "parameterSchema": SCHEMA, "placement": {"name": "vdu-{site}", "namespace": "du-{site}"},
                "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z", **data}
        self.by_id[template_id] = DeploymentTemplate.model_validate(wire).model_copy(update={"owner": owner})
        return template_id


@pytest.fixture()
def world(tmp_path: Path) -> DmsWorld:
    return DmsWorld(tmp_path, adapters=[AtomicAdapter()])


@pytest.fixture()
def templates() -> Templates:
    return Templates()


def ports(world: DmsWorld, templates: Templates, pools: list[dict[str, Any]] | None = None) -> DeploymentPorts:
    return dataclasses.replace(world.deployment_ports(), templates=cast(DeploymentTemplateStore, templates),
                               resource_pools=lambda: pools or [])


def test_bad_parameters_are_named_and_nothing_is_written(world: DmsWorld, templates: Templates) -> None:
    tid = templates.add("t1", "1", world.packages.add("vdu", "1.0.0").package_id)
    with pytest.raises(DeploymentParametersInvalid) as refused:
        create_from_template(ports(world, templates), TemplatedDeployment(tid, {"site": "a", "cellId": 0}),
                             access=SMO)
    assert [p["name"] for p in refused.value.invalid_parameters] == ["parameters.cellId"]
    assert list(world.store.all()) == [] and world.store.queued_operations() == [] and world.queue.submitted == []


def test_the_filter_must_pick_exactly_one_pool(world: DmsWorld, templates: Templates) -> None:
    package = world.packages.add("vdu", "1.0.0")
    tid = templates.add("t1", "1", package.package_id, placement={
        "namespace": "du-{site}", "resourcePoolFilter": "(eq,extensions/site,{site})"})
    request = TemplatedDeployment(tid, {"site": "a", "cellId": 1})
    pool_a = {**POOL, "resourcePoolId": "pa", "name": "du-a", "extensions": {**POOL["extensions"], "site": "a"}}
    world.pools["pa"] = pool_a
    for pools, count in (([], 0), ([pool_a, {**pool_a, "resourcePoolId": "pb"}], 2)):
        with pytest.raises(PoolFilterNotSingle, match=f"'\\(eq,extensions/site,a\\)' matches {count} resource"):
            create_from_template(ports(world, templates, pools), request, access=SMO)

    deployment, _ = create_from_template(ports(world, templates, [pool_a, {**pool_a, "resourcePoolId": "pz",
                                                                          "extensions": {"site": "z"}}]),
                                         request, access=SMO)
    assert deployment.resource_pool_id == "pa" and deployment.namespace == "du-a"


def test_another_tenants_template_is_answered_as_unknown(world: DmsWorld, templates: Templates) -> None:
    tid = templates.add("t1", "1", world.packages.add("vdu", "1.0.0").package_id, owner="other")
    with pytest.raises(UnprocessableContent, match="deploymentTemplateId: no deployment template with id 't1'"):
        create_from_template(ports(world, templates), TemplatedDeployment(tid, {"site": "a", "cellId": 1}),
                             access=Access("smo", packages_per_tenant=True))


def test_an_upgrade_records_the_new_version_once_it_succeeds(world: DmsWorld, templates: Templates) -> None:
    v1 = templates.add("t1", "1", world.packages.add("vdu", "1.0.0").package_id,
                       lifecycle={"rollbackOnFailure": True})
    v2 = templates.add("t2", "2", world.packages.add("vdu", "2.0.0").package_id, defaultValues={"replicaCount": 2})
    deployment, created = create_from_template(ports(world, templates),
                                               TemplatedDeployment(v1, {"site": "a", "cellId": 4}), access=SMO)
    assert deployment.extensions["rollbackOnFailure"] is True
    world.run(created.operation_id)

    operation = upgrade_to_template(ports(world, templates), deployment.deployment_id, v2, None, None, access=SMO)
    assert world.current(deployment.deployment_id).extensions["deploymentTemplateId"] == v1  # not before it ran
    assert world.run(operation.operation_id) == "succeeded"

    upgraded = world.current(deployment.deployment_id)
    assert upgraded.package_version == "2.0.0" and upgraded.values == {"replicaCount": 2, "site": "a", "cellId": 4}
    assert {k: upgraded.extensions.get(k) for k in ("deploymentTemplateId", "deploymentTemplateVersion",
                                                    "parameters", "rollbackOnFailure")} == {
        "deploymentTemplateId": v2, "deploymentTemplateVersion": "2", "parameters": {"site": "a", "cellId": 4},
        "rollbackOnFailure": None}
    adapter = world.adapters[0]
    assert isinstance(adapter, AtomicAdapter) and adapter.specs[-1].atomic is False  # v2 does not ask for it


def test_a_package_upgrade_keeps_asking_for_rollback_on_failure(world: DmsWorld, templates: Templates) -> None:
    v1 = templates.add("t1", "1", world.packages.add("vdu", "1.0.0").package_id,
                       lifecycle={"rollbackOnFailure": True})
    deployment, created = create_from_template(ports(world, templates),
                                               TemplatedDeployment(v1, {"site": "a", "cellId": 4}), access=SMO)
    world.run(created.operation_id)
    v2 = world.packages.add("vdu", "2.0.0")
    operation = world.accept(deployment.deployment_id, OperationType.UPGRADE, {"packageId": v2.package_id})
    world.run(operation.operation_id)
    adapter = world.adapters[0]
    assert isinstance(adapter, AtomicAdapter) and adapter.specs[-1].atomic is True
    assert world.current(deployment.deployment_id).extensions["deploymentTemplateId"] == v1


def test_only_a_version_of_the_same_template(world: DmsWorld, templates: Templates) -> None:
    package_id = world.packages.add("vdu", "1.0.0").package_id
    v1 = templates.add("t1", "1", package_id)
    other = templates.add("t2", "2", package_id, name="cu")
    deployment, _ = create_from_template(ports(world, templates),
                                         TemplatedDeployment(v1, {"site": "a", "cellId": 4}), access=SMO)
    with pytest.raises(TemplateUpgradeRefused, match="template cu 2 is not a version of 'vdu'"):
        upgrade_to_template(ports(world, templates), deployment.deployment_id, other, None, None, access=SMO)


@pytest.mark.parametrize(("body", "named"), [
    ({"deploymentTemplateId": "t", "name": "x", "values": {}}, "name, values: not accepted with deploymentTemplateId"),
    ({"deploymentTemplateId": "t", "extensions": {"dmsAdapter": "helm"}}, "extensions.dmsAdapter: not accepted"),
    ({"name": "x", "namespace": "y", "packageId": "p", "parameters": {}}, "parameters: not accepted without"),
    ({"name": "x"}, "namespace, packageId: required"),
])
def test_the_create_forms_are_exclusive(body: dict[str, Any], named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        CreateDeploymentRequest.model_validate(body)


def test_the_upgrade_forms_are_exclusive() -> None:
    with pytest.raises(ValidationError, match="packageId: not accepted with deploymentTemplateId"):
        UpgradeRequest.model_validate({"deploymentTemplateId": "t", "packageId": "p"})
    with pytest.raises(ValidationError, match="packageId: required"):
        UpgradeRequest.model_validate({})
