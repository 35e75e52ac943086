"""The namespace policy of a DMS backend (chalicelib/domain/namespace_policy.py) and how gateway.yaml configures it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import ValidationError

from chalicelib.domain.deployments import OperationType
from chalicelib.domain.namespace_policy import NamespaceNotAllowed, NamespacePolicy
from chalicelib.services.deployments import request_operation
from chalicelib.settings import GatewayConfig
from tests.unit.fakes.deployments import SMO, DmsWorld
from tests.unit.fakes.dms import FakeDeploymentAdapter


def refusal(policy: NamespacePolicy, namespace: str, tenant: str | None = "smo-a") -> str:
    with pytest.raises(NamespaceNotAllowed) as raised:
        policy.check(namespace, tenant)
    assert raised.value.status == 422
    return str(raised.value)


@pytest.mark.parametrize("namespace", ["kube-system", "kube-public", "kube-node-lease", "kube-x", "argocd",
                                       "flux-system", "netweave"])
def test_the_default_policy_protects_the_clusters_controllers_and_netweaves_namespaces(namespace: str) -> None:
    assert "is protected" in refusal(NamespacePolicy("helm"), namespace)


@pytest.mark.parametrize("namespace", ["oran-du", "default", "kubernetes-dashboard-ish", "argocd-apps"])
def test_the_default_policy_allows_any_other_namespace(namespace: str) -> None:
    NamespacePolicy("helm").check(namespace, None)


def test_deny_wins_over_allow_and_is_named() -> None:
    policy = NamespacePolicy("helm", allow=("oran-*",), deny=("oran-core", "oran-sec*"))
    assert "denied by the pattern 'oran-sec*'" in refusal(policy, "oran-security")
    policy.check("oran-du", None)


def test_a_tenant_pattern_matches_only_the_callers_namespaces() -> None:
    policy = NamespacePolicy("helm", allow=("{tenant}-*",))
    policy.check("smo-a-du", "smo-a")
    assert "matches none of the allowed patterns ('smo-b-*')" in refusal(policy, "smo-a-du", "smo-b")
    assert "matches none" in refusal(policy, "smo-a-du", None)  # no tenant: the pattern matches nothing


@pytest.mark.parametrize("tenant", ["*", "smo-?", "[s]mo-a", "smo-*"])
def test_a_tenant_with_pattern_characters_is_taken_literally(tenant: str) -> None:
    assert "matches none" in refusal(NamespacePolicy("helm", allow=("{tenant}-du",)), "smo-a-du", tenant)


def test_protection_is_lifted_only_for_the_namespaces_named() -> None:
    policy = NamespacePolicy("helm", allow_protected=frozenset({"kube-public"}))
    policy.check("kube-public", None)
    assert "'kube-*' is protected" in refusal(policy, "kube-system")


def test_every_backend_protects_every_gitops_controllers_namespace() -> None:
    gateway = GatewayConfig.model_validate({"dmsAdapters": [
        {"id": "helm", "type": "helm", "namespaces": {"allow": ["*"]}},
        {"id": "argo", "type": "argocd", "options": {"namespace": "gitops"}},
        {"id": "flux", "type": "flux", "options": {"sourceNamespace": "flux-sources"}},
    ]})
    helm = gateway.namespace_policies()["helm"]
    assert "'gitops' is protected" in refusal(helm, "gitops")
    assert "'flux-sources' is protected" in refusal(helm, "flux-sources")
    assert "'gitops' is protected" in refusal(gateway.namespace_policies()["flux"], "gitops")


def test_namespace_rules_on_an_ims_backend_are_a_configuration_error() -> None:
    with pytest.raises(ValidationError, match="namespaces apply to DMS backends only"):
        GatewayConfig.model_validate({"imsAdapters": [{"id": "k8s", "type": "kubernetes",
                                                       "namespaces": {"allow": ["*"]}}]})


def test_unknown_namespace_rule_keys_are_refused() -> None:
    with pytest.raises(ValidationError, match="alow"):
        GatewayConfig.model_validate({"dmsAdapters": [{"id": "helm", "type": "helm", "namespaces": {"alow": ["x"]}}]})


def test_a_tightened_policy_stops_changes_to_existing_deployments_but_not_their_removal(tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    world = DmsWorld(tmp_path / "work", adapters=[FakeDeploymentAdapter()])
    deployment, create = world.accept_create("du-1", world.packages.add("vdu", "1.0.0"), namespace="oran-du")
    assert world.run(create.operation_id) == "succeeded"
    adapter_id = deployment.adapter_id
    tightened = replace(world.deployment_ports(), namespace_policies={
        adapter_id: NamespacePolicy(adapter_id, allow=("{tenant}-*",))})
    with pytest.raises(NamespaceNotAllowed, match="matches none of the allowed patterns \\('smo-\\*'\\)"):
        request_operation(tightened, deployment.deployment_id, OperationType.SCALE, {"replicas": 2}, access=SMO)
    removal = request_operation(tightened, deployment.deployment_id, OperationType.DELETE, {}, access=SMO)
    assert world.run(removal.operation_id) == "succeeded"
