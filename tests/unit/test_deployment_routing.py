"""Which DMS backend a new deployment goes to (routing rules, an explicit choice, the default), that the choice is
recorded and followed by every later operation, and that a backend lacking a capability answers 501."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from chalicelib.adapters.dms.port import DeploymentRegistry
from chalicelib.adapters.registry import AdapterRegistry
from chalicelib.adapters.store.deployment_store import DeploymentStore
from chalicelib.adapters.store.package_store import PackageStore
from chalicelib.domain.capabilities import Capability
from chalicelib.domain.deployments import OperationType
from chalicelib.domain.errors import BadRequest, CapabilityNotSupported
from chalicelib.services.deployments import DeploymentPorts, NewDeployment, create_deployment, request_operation
from chalicelib.settings import AdapterConfig, GatewayConfig
from tests.unit.fakes.deployments import SMO, FakeDeploymentStore, FakeOperationQueue, FakePackageStore
from tests.unit.fakes.dms import FakeDeploymentAdapter

ROUTING = {"dms": [{"namespacePrefix": "gitops-", "adapter": "argo"},
                   {"deploymentType": "gitops", "adapter": "argo"},
                   {"packageType": "git", "adapter": "argo"},
                   {"labels": {"tier": "edge"}, "adapter": "edge-helm"}]}


def _factory(adapter: FakeDeploymentAdapter) -> Callable[[AdapterConfig], FakeDeploymentAdapter]:
    return lambda _config: adapter


def ports(tmp_path: Path, argo_capabilities: frozenset[Capability] = frozenset({Capability.DEPLOY})) -> Any:
    adapters = {"helm": FakeDeploymentAdapter("helm"), "argo": FakeDeploymentAdapter("argo", argo_capabilities),
                "edge-helm": FakeDeploymentAdapter("edge-helm")}
    adapters["argo"].package_types = frozenset({"helm", "git"})
    gateway = GatewayConfig.model_validate({
        "dmsAdapters": [{"id": name, "type": name, "default": name == "helm"} for name in adapters],
        "routing": ROUTING})
    registry: DeploymentRegistry = AdapterRegistry("dms", gateway.dms_adapters,
                                                   {n: _factory(a) for n, a in adapters.items()}, gateway.routing)
    packages = FakePackageStore()
    package = packages.add("vdu", "1.0.0")
    built = DeploymentPorts(cast(DeploymentStore, FakeDeploymentStore()), cast(PackageStore, packages), registry,
                            FakeOperationQueue(), resource_pool=lambda _: None)
    return built, package.package_id


def create(built: DeploymentPorts, package_id: str, name: str, namespace: str = "ran", **choice: Any) -> str:
    request = NewDeployment(name=name, namespace=namespace, package_id=package_id, values={}, **choice)
    deployment, _ = create_deployment(built, request, access=SMO)
    return deployment.adapter_id


def test_routing_rules_in_the_design_documents_layout(tmp_path: Path) -> None:
    built, package = ports(tmp_path)
    assert create(built, package, "a", namespace="gitops-core") == "argo"  # namespacePrefix
    assert create(built, package, "b", deployment_type="gitops") == "argo"  # extensions.deploymentType
    assert create(built, package, "c", labels={"tier": "edge"}) == "edge-helm"  # labels
    git = cast(FakePackageStore, built.packages).add_git("du", "v1.2.0").package_id
    assert create(built, git, "g1") == "argo"  # packageType
    assert create(built, git, "g2", labels={"tier": "edge"}) == "argo"  # the first matching rule wins
    assert create(built, package, "d") == "helm"  # no rule matches: the default
    assert create(built, package, "e", namespace="gitops-core", adapter_id="helm") == "helm"  # explicit wins
    with pytest.raises(BadRequest, match="no DMS backend 'ghost'; known: helm, argo, edge-helm"):
        create(built, package, "f", adapter_id="ghost")


def test_later_operations_go_to_the_recorded_backend_and_missing_capabilities_are_501(tmp_path: Path) -> None:
    built, package = ports(tmp_path)
    deployment, _ = create_deployment(built, NewDeployment("g", "gitops-ran", package, {}), access=SMO)
    store = cast(FakeDeploymentStore, built.store)
    held = store.get(deployment.deployment_id)
    assert held is not None and held.adapter_id == "argo"
    create_operation = store.get_operation(held.active_operation_id or "")
    assert create_operation is not None
    store.finish(held.model_copy(update={"extensions": {"dmsAdapter": "argo"}}), create_operation)  # installed
    with pytest.raises(CapabilityNotSupported, match="backend 'argo' does not support scale") as refused:
        request_operation(built, deployment.deployment_id, OperationType.SCALE, {"replicas": 2}, access=SMO)
    assert refused.value.status == 501


def test_a_backend_that_cannot_deploy_is_501_at_create(tmp_path: Path) -> None:
    built, package = ports(tmp_path, argo_capabilities=frozenset({Capability.STATUS}))
    with pytest.raises(CapabilityNotSupported, match="deploy"):
        create(built, package, "h", deployment_type="gitops")


def test_routing_accepts_only_dms_and_ims_rules() -> None:
    with pytest.raises(ValueError, match="only 'dms' and 'ims' rules"):
        GatewayConfig.model_validate({"routing": {"alarms": []}})
    assert GatewayConfig.model_validate({"routing": [{"adapter": "x"}]}).routing[0].adapter == "x"
