"""GitOps packages and backends through the API: a helm-repo or git package is registered by reference, deployed by
ArgoCD or Flux (chosen by routing rule — deploymentType, namespace prefix, package type — or explicitly), a package a
backend cannot deploy is refused up front, and ArgoCD health transitions reach subscribers through the poller."""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib import resources
from chalicelib.bootstrap import Components
from chalicelib.domain.auth import ALL_SCOPES
from chalicelib.handlers import dms as dms_handlers
from devtools.token import mint_token
from tests.conftest import PROJECT_DIR
from tests.functional.conftest import SECRET, Api, quick_gitops, serving
from tests.functional.inventory_fixtures import Site, site_environment
from tests.functional.test_deployments_flow import call, run_worker, upload

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
        "    - {namespacePrefix: flux-, adapter: flux}\n"
        "    - {packageType: git, adapter: argocd}\n")
    with quick_gitops():
        yield from site_environment(tmp, adapter_id="gitops-site", more_adapters=backends)


@pytest.fixture()
def api(site: Site) -> Iterator[Api]:
    import app

    with serving(site.components), Client(app.app, stage_name="dev", project_dir=str(PROJECT_DIR)) as client:
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


def test_a_helm_repo_package_is_registered_by_reference_and_deployed_by_argocd(api: Api, chart_repository: str,
                                                                               site: Site) -> None:
    name = f"vdu-{uuid.uuid4().hex[:6]}"
    package = register(api, packageType="helm-repo", repositoryUrl=chart_repository, chart="vdu", version="1.1.0",
                       name=name)
    assert (package["name"], package["version"], package["packageType"]) == (name, "1.1.0", "helm-repo")
    assert package["repositoryUrl"] == chart_repository and "checksum" not in package
    accepted = deploy(api, package["packageId"], "ran-du", deploymentType="gitops")
    assert accepted["extensions"]["dmsAdapter"] == "argocd"  # the routing rule for deploymentType gitops
    assert len(run_worker(site.components)) == 1
    shown = call(api, "GET", f"{DEPLOYMENTS}/{accepted['deploymentId']}").json()
    assert shown["status"] == "deployed", shown
    assert shown["extensions"]["argocd"]["syncStatus"] == "Synced"
    assert shown["extensions"]["argocd"]["healthStatus"] == "Healthy"
    assert shown["extensions"]["replicas"] == {"desired": 2, "ready": 2}  # ArgoCD deployed the chart's workload
    scale = call(api, "POST", f"{DEPLOYMENTS}/{accepted['deploymentId']}/scale", {"replicas": 4})
    assert scale.status == 202
    run_worker(site.components)
    assert call(api, "GET", scale.header("Location")).json()["status"] == "succeeded"
    scaled = call(api, "GET", f"{DEPLOYMENTS}/{accepted['deploymentId']}/status").json()
    assert [(w["kind"], w["desired"], w["ready"]) for w in scaled["workloads"]] == [("Deployment", 4, 4)]
    history = call(api, "GET", f"{DEPLOYMENTS}/{accepted['deploymentId']}/history").json()
    assert [r["revision"] for r in history] == [1, 2]


def test_flux_deploys_by_namespace_rule_and_refuses_rollback_with_501(api: Api, chart_repository: str,
                                                                      site: Site) -> None:
    package = register(api, packageType="helm-repo", repositoryUrl=chart_repository, chart="cu", version="3.0.0",
                       name=f"cu-{uuid.uuid4().hex[:6]}")
    accepted = deploy(api, package["packageId"], "flux-core")
    assert accepted["extensions"]["dmsAdapter"] == "flux"
    run_worker(site.components)
    shown = call(api, "GET", f"{DEPLOYMENTS}/{accepted['deploymentId']}").json()
    assert shown["status"] == "deployed" and shown["extensions"]["flux"]["ready"] == "True", shown
    assert shown["extensions"]["replicas"] == {"desired": 2, "ready": 2}  # Flux's helm installed the workload
    history = call(api, "GET", f"{DEPLOYMENTS}/{accepted['deploymentId']}/history").json()
    assert [(r["revision"], r["status"]) for r in history] == [(1, "deployed")]
    refused = call(api, "POST", f"{DEPLOYMENTS}/{accepted['deploymentId']}/rollback", {})
    assert refused.status == 501 and "rollback" in refused.json()["detail"]


def test_a_package_a_backend_cannot_deploy_is_refused_up_front(api: Api, chart_repository: str,
                                                               git_chart_repository: str) -> None:
    git = register(api, packageType="git", repositoryUrl=git_chart_repository, path="charts/du",
                   version="v1.2.0", name=f"du-git-{uuid.uuid4().hex[:6]}")
    to_helm = call(api, "POST", DEPLOYMENTS, {"name": "du-x", "namespace": "ran", "packageId": git["packageId"],
                                              "extensions": {"dmsAdapter": "helm"}})
    assert to_helm.status == 422 and "helm" in to_helm.json()["detail"] and "git" in to_helm.json()["detail"]
    # Flux without chartRepositoryUrl deploys helm-repo and git packages, not uploaded archives
    with urllib.request.urlopen(f"{chart_repository}/du-1.2.0.tgz", timeout=10) as reply:
        archive = upload(api, reply.read())
    to_flux = call(api, "POST", DEPLOYMENTS, {"name": "du-y", "namespace": "flux-x", "packageId": archive})
    assert to_flux.status == 422 and "flux" in to_flux.json()["detail"] and "helm" in to_flux.json()["detail"]
    assert call(api, "DELETE", f"{PACKAGES}/{archive}").status == 204
    incomplete = call(api, "POST", PACKAGES, {"packageType": "helm-repo", "repositoryUrl": "https://x.example",
                                              "version": "1"})
    assert incomplete.status == 400 and "chart" in incomplete.json()["detail"]
    assert call(api, "DELETE", f"{PACKAGES}/{git['packageId']}").status == 204


def test_a_git_package_goes_to_argocd_by_its_package_type(api: Api, git_chart_repository: str, site: Site) -> None:
    git = register(api, packageType="git", repositoryUrl=git_chart_repository, path="charts/du", version="2.1.0",
                   name=f"du-git-{uuid.uuid4().hex[:6]}")
    accepted = deploy(api, git["packageId"], "ran-git")  # no deploymentType, no dmsAdapter: the packageType rule
    assert accepted["extensions"]["dmsAdapter"] == "argocd"
    run_worker(site.components)
    status = call(api, "GET", f"{DEPLOYMENTS}/{accepted['deploymentId']}/status").json()
    assert status["ready"] is True and status["release"]["chart"] == "charts/du", status
    assert [(w["kind"], w["desired"], w["ready"]) for w in status["workloads"]] == [("Deployment", 2, 2)]


def test_argocd_with_automated_sync_refuses_rollback_at_once(api: Api, chart_repository: str, site: Site) -> None:
    package = register(api, packageType="helm-repo", repositoryUrl=chart_repository, chart="cu", version="3.0.0",
                       name=f"rb-{uuid.uuid4().hex[:6]}")
    accepted = deploy(api, package["packageId"], "ran-rb", dmsAdapter="argocd")
    run_worker(site.components)
    refused = call(api, "POST", f"{DEPLOYMENTS}/{accepted['deploymentId']}/rollback", {})
    assert refused.status == 409 and "automated sync" in refused.json()["detail"]
    shown = call(api, "GET", f"{DEPLOYMENTS}/{accepted['deploymentId']}").json()
    assert shown["status"] == "deployed" and "activeOperationId" not in shown["extensions"]  # nothing was queued


def deployment_events(parts: Components, deployment_id: str) -> list[str]:
    """detailType of the events about this deployment on the events queue (drained)."""
    sqs = boto3.client("sqs")
    url = parts.queue_url(resources.EVENTS)
    found: list[str] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            event = json.loads(message["Body"])
            if event.get("objectId") == deployment_id:
                found.append(str(event.get("detailType")))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_health_transitions_of_an_argocd_deployment_become_deployment_events(
        api: Api, site: Site, chart_repository: str) -> None:
    from kubernetes import client
    from kubernetes import config as kube_config

    package = register(api, packageType="helm-repo", repositoryUrl=chart_repository, chart="du", version="1.0.0",
                       name=f"du-poll-{uuid.uuid4().hex[:6]}")
    accepted = deploy(api, package["packageId"], "ran-poll", deploymentType="gitops")
    run_worker(site.components)
    deployment_id, name = accepted["deploymentId"], accepted["name"]
    assert call(api, "GET", f"{DEPLOYMENTS}/{deployment_id}").json()["status"] == "deployed"
    dms_handlers.scheduled_deployment_poll(site.components)
    deployment_events(site.components, deployment_id)  # what the create published is not this test's concern

    # Outside netweave, the workload's pods start crashing: ArgoCD's health goes Progressing.
    apps = client.AppsV1Api(kube_config.new_client_from_config(str(site.kubesim.kubeconfig_path)))
    workload = apps.list_namespaced_deployment("ran-poll", label_selector=f"app.kubernetes.io/instance={name}")
    deployment_name = workload.items[0].metadata.name
    container = workload.items[0].spec.template.spec.containers[0].name
    apps.patch_namespaced_deployment(deployment_name, "ran-poll", {"spec": {"template": {"spec": {"containers": [
        {"name": container, "image": "nginx:fail"}]}}}})
    assert dms_handlers.scheduled_deployment_poll(site.components)["changed"] >= 1
    shown = call(api, "GET", f"{DEPLOYMENTS}/{deployment_id}").json()
    assert shown["status"] == "deploying" and shown["extensions"]["argocd"]["healthStatus"] == "Progressing", shown
    assert deployment_events(site.components, deployment_id) == ["DeploymentProgressing"]

    apps.patch_namespaced_deployment(deployment_name, "ran-poll", {"spec": {"template": {"spec": {"containers": [
        {"name": container, "image": "nginx:1.27"}]}}}})
    dms_handlers.scheduled_deployment_poll(site.components)
    shown = call(api, "GET", f"{DEPLOYMENTS}/{deployment_id}").json()
    assert shown["status"] == "deployed" and shown["extensions"]["argocd"]["healthStatus"] == "Healthy", shown
    assert deployment_events(site.components, deployment_id) == ["DeploymentReady"]
