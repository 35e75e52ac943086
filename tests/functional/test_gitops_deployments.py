"""GitOps packages and backends through the API: a helm-repo or git package is registered by reference, deployed by
ArgoCD or Flux (chosen by routing rule or explicitly), and a package a backend cannot deploy is refused up front."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.domain.auth import ALL_SCOPES
from devtools.token import mint_token
from tests.conftest import PROJECT_DIR
from tests.functional.conftest import SECRET, Api, quick_gitops
from tests.functional.inventory_fixtures import Site, site_environment
from tests.functional.test_deployments_flow import call, run_worker

PACKAGES, DEPLOYMENTS = "/o2dms/v1/deploymentPackages", "/o2dms/v1/deployments"


@pytest.fixture(scope="module")
def site(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("gitops-site")
    kubeconfig = tmp / "kubeconfig"
    backends = (
        "dmsAdapters:\n"
        f"  - {{id: helm, type: helm, default: true, options: {{kubeconfig: {kubeconfig}}}}}\n"
        f"  - {{id: argocd, type: argocd, options: {{kubeconfig: {kubeconfig}, defaultTimeoutSeconds: 20}}}}\n"
        f"  - {{id: flux, type: flux, options: {{kubeconfig: {kubeconfig}, defaultTimeoutSeconds: 20}}}}\n"
        "routing:\n  dms:\n    - {deploymentType: gitops, adapter: argocd}\n"
        "    - {namespacePrefix: flux-, adapter: flux}\n")
    with quick_gitops():
        yield from site_environment(tmp, adapter_id="gitops-site", more_adapters=backends)


@pytest.fixture()
def api(site: Site) -> Iterator[Api]:
    import app

    with Client(app.app, stage_name="dev", project_dir=str(PROJECT_DIR)) as client:
        yield Api(client, mint_token(SECRET, ALL_SCOPES))


def register(api: Api, **body: Any) -> dict[str, Any]:
    reply = call(api, "POST", PACKAGES, body)
    assert reply.status == 201, reply.body
    return dict(reply.json())


def deploy(api: Api, package_id: str, namespace: str, **extensions: str) -> dict[str, Any]:
    reply = call(api, "POST", DEPLOYMENTS, {"name": f"du-{uuid.uuid4().hex[:6]}", "namespace": namespace,
                                             "packageId": package_id, "values": {"replicaCount": 2},
                                             "extensions": extensions})
    assert reply.status == 202, reply.body
    return dict(reply.json())


def test_a_helm_repo_package_is_registered_by_reference_and_deployed_by_argocd(api: Api, chart_repository: str
                                                                                ) -> None:
    name = f"vdu-{uuid.uuid4().hex[:6]}"
    package = register(api, packageType="helm-repo", repositoryUrl=chart_repository, chart="vdu", version="1.1.0",
                       name=name)
    assert (package["name"], package["version"], package["packageType"]) == (name, "1.1.0", "helm-repo")
    assert package["repositoryUrl"] == chart_repository and "checksum" not in package
    accepted = deploy(api, package["packageId"], "ran-du", deploymentType="gitops")
    assert accepted["extensions"]["dmsAdapter"] == "argocd"  # the routing rule for deploymentType gitops
    assert len(run_worker()) == 1
    shown = call(api, "GET", f"{DEPLOYMENTS}/{accepted['deploymentId']}").json()
    assert shown["status"] == "deployed", shown
    assert shown["extensions"]["argocd"]["syncStatus"] == "Synced"
    assert shown["extensions"]["argocd"]["healthStatus"] == "Healthy"
    assert shown["extensions"]["replicas"] == {"desired": 2, "ready": 2}  # ArgoCD deployed the chart's workload
    scale = call(api, "POST", f"{DEPLOYMENTS}/{accepted['deploymentId']}/scale", {"replicas": 4})
    assert scale.status == 202
    run_worker()
    assert call(api, "GET", scale.header("Location")).json()["status"] == "succeeded"
    scaled = call(api, "GET", f"{DEPLOYMENTS}/{accepted['deploymentId']}/status").json()
    assert [(w["kind"], w["desired"], w["ready"]) for w in scaled["workloads"]] == [("Deployment", 4, 4)]
    history = call(api, "GET", f"{DEPLOYMENTS}/{accepted['deploymentId']}/history").json()
    assert [r["revision"] for r in history] == [1, 2]


def test_flux_deploys_by_namespace_rule_and_refuses_rollback_with_501(api: Api, chart_repository: str) -> None:
    package = register(api, packageType="helm-repo", repositoryUrl=chart_repository, chart="cu", version="3.0.0",
                       name=f"cu-{uuid.uuid4().hex[:6]}")
    accepted = deploy(api, package["packageId"], "flux-core")
    assert accepted["extensions"]["dmsAdapter"] == "flux"
    run_worker()
    shown = call(api, "GET", f"{DEPLOYMENTS}/{accepted['deploymentId']}").json()
    assert shown["status"] == "deployed" and shown["extensions"]["flux"]["ready"] == "True", shown
    assert shown["extensions"]["replicas"] == {"desired": 2, "ready": 2}  # Flux's helm installed the workload
    history = call(api, "GET", f"{DEPLOYMENTS}/{accepted['deploymentId']}/history").json()
    assert [(r["revision"], r["status"]) for r in history] == [(1, "deployed")]
    refused = call(api, "POST", f"{DEPLOYMENTS}/{accepted['deploymentId']}/rollback", {})
    assert refused.status == 501 and "rollback" in refused.json()["detail"]


def test_a_package_a_backend_cannot_deploy_is_refused_up_front(api: Api) -> None:
    git = register(api, packageType="git", repositoryUrl="https://git.example.net/ran/du.git", path="charts/du",
                   version="v1.2.0", name=f"du-git-{uuid.uuid4().hex[:6]}")
    to_helm = call(api, "POST", DEPLOYMENTS, {"name": "du-x", "namespace": "ran", "packageId": git["packageId"]})
    assert to_helm.status == 422 and "helm" in to_helm.json()["detail"] and "git" in to_helm.json()["detail"]
    to_flux = call(api, "POST", DEPLOYMENTS, {"name": "du-y", "namespace": "flux-x", "packageId": git["packageId"]})
    assert to_flux.status == 422
    incomplete = call(api, "POST", PACKAGES, {"packageType": "helm-repo", "repositoryUrl": "https://x.example",
                                              "version": "1"})
    assert incomplete.status == 400 and "chart" in incomplete.json()["detail"]
    assert call(api, "DELETE", f"{PACKAGES}/{git['packageId']}").status == 204


def test_argocd_with_automated_sync_refuses_rollback_at_once(api: Api, chart_repository: str) -> None:
    package = register(api, packageType="helm-repo", repositoryUrl=chart_repository, chart="cu", version="3.0.0",
                       name=f"rb-{uuid.uuid4().hex[:6]}")
    accepted = deploy(api, package["packageId"], "ran-rb", dmsAdapter="argocd")
    run_worker()
    refused = call(api, "POST", f"{DEPLOYMENTS}/{accepted['deploymentId']}/rollback", {})
    assert refused.status == 409 and "automated sync" in refused.json()["detail"]
    shown = call(api, "GET", f"{DEPLOYMENTS}/{accepted['deploymentId']}").json()
    assert shown["status"] == "deployed" and "activeOperationId" not in shown["extensions"]  # nothing was queued
