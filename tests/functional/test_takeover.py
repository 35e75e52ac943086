"""Takeover of what netweave does not own (docs/security.md, "Ownership"): an SMO names a deployment like the
operator's own release, Application or HelmRelease, then scales or deletes it. Each is refused 409 (`not-owned`)
by the worker before anything changes, the operator's object is checked unchanged in the cluster, and what
netweave creates carries the deployment id as its marker. Through the API, the real queue and worker, the real helm
binary and kubesim's ArgoCD and Flux."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.adapters.dms import flux_mapping
from chalicelib.adapters.dms.cluster import Cluster
from chalicelib.adapters.helm_binary import PROJECT_HELM
from chalicelib.domain.auth import ALL_SCOPES
from chalicelib.handlers import dms as dms_handlers
from devtools.token import mint_token
from tests.conftest import PROJECT_DIR
from tests.functional.conftest import SECRET, Api, quick_gitops, serving
from tests.functional.inventory_fixtures import Site, site_environment
from tests.functional.test_deployments_flow import call, run_worker, upload

pytestmark = pytest.mark.xdist_group("helm-adapter")  # the real helm binary, as the other helm tests
DEPLOYMENTS = "/o2dms/v1/deployments"
MARKER = "netweave.io/deployment-id"
ARGO = ("argoproj.io", "v1alpha1", "argocd", "applications")
HELMRELEASES = ("helm.toolkit.fluxcd.io", "v2")


@pytest.fixture(scope="module")
def site(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("ownership-site")
    kubeconfig = tmp / "kubeconfig"
    backends = (
        "dmsAdapters:\n"
        f"  - {{id: helm, type: helm, default: true, options: {{kubeconfig: {kubeconfig}}}}}\n"
        f"  - {{id: argocd, type: argocd, options: {{kubeconfig: {kubeconfig}, defaultTimeoutSeconds: 20}}}}\n"
        f"  - {{id: flux, type: flux, options: {{kubeconfig: {kubeconfig}, defaultTimeoutSeconds: 20}}}}\n"
        "routing:\n  dms:\n    - {deploymentType: gitops, adapter: argocd}\n"
        "    - {namespacePrefix: flux-, adapter: flux}\n")
    with quick_gitops():
        yield from site_environment(tmp, adapter_id="ownership-site", more_adapters=backends)


@pytest.fixture()
def api(site: Site) -> Iterator[Api]:
    import app

    with serving(site.components), Client(app.app, stage_name="dev", project_dir=str(PROJECT_DIR)) as client:
        yield Api(client, mint_token(SECRET, ALL_SCOPES))


@pytest.fixture(scope="module")
def chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("operator-chart")
    env = {"HOME": str(work), "PATH": "/usr/bin:/bin"}
    subprocess.run([str(PROJECT_HELM), "create", "ran"], cwd=work, check=True, capture_output=True, env=env)
    subprocess.run([str(PROJECT_HELM), "package", "ran", "--version", "1.0.0"], cwd=work, check=True,
                   capture_output=True, env=env)
    return work / "ran-1.0.0.tgz"


@pytest.fixture(scope="module")
def cluster(site: Site) -> Cluster:
    return Cluster("test", str(site.gateway_file.parent / "kubeconfig"), None, 10.0)


_UPLOADED: dict[str, str] = {}


def chart_package(api: Api, site: Site, chart: Path) -> str:
    """The chart uploaded as a package once per site (package name and version are unique)."""
    if site.stage not in _UPLOADED:
        _UPLOADED[site.stage] = upload(api, chart.read_bytes())
    return _UPLOADED[site.stage]


def operator_helm(site: Site, *args: str) -> str:
    """helm as the cluster's operator runs it, outside netweave."""
    home = site.gateway_file.parent / "operator-home"
    home.mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(home), "KUBECONFIG": str(site.gateway_file.parent / "kubeconfig"),
           "HELM_CACHE_HOME": str(home / "cache"), "HELM_CONFIG_HOME": str(home / "config"),
           "HELM_DATA_HOME": str(home / "data")}
    done = subprocess.run([str(PROJECT_HELM), *args], check=True, capture_output=True, text=True, env=env)
    return done.stdout


def release_secrets(cluster: Cluster, name: str, namespace: str) -> list[dict[str, Any]]:
    """helm's storage Secrets of a release, oldest first, as metadata (labels carry the ownership marker)."""
    items = cluster.list_items(cluster.core().list_namespaced_secret, namespace, f"owner=helm,name={name}")
    return sorted((item["metadata"] for item in items), key=lambda meta: int(meta["labels"]["version"]))


def replicas(cluster: Cluster, name: str, namespace: str) -> int:
    deployment = cluster.apps().read_namespaced_deployment(name, namespace)
    return int(deployment.spec.replicas)


def operation(api: Api, reply: Any) -> dict[str, Any]:
    """The operation a 202 answer started (a lifecycle call answers with it, a create with its deployment)."""
    assert reply.status == 202, reply.body
    body = reply.json()
    operation_id = body.get("operationId") or body["extensions"]["activeOperationId"]
    return dict(call(api, "GET", f"/o2dms/v1/operations/{operation_id}").json())


def create(api: Api, site: Site, package_id: str, name: str, namespace: str, **extensions: str) -> tuple[str, Any]:
    reply = call(api, "POST", DEPLOYMENTS, {"name": name, "namespace": namespace, "packageId": package_id,
                                             "values": {"replicaCount": 3}, "timeoutSeconds": 30,
                                             "extensions": extensions})
    assert reply.status == 202, reply.body
    run_worker(site.components)
    return str(reply.json()["deploymentId"]), reply


def assert_not_owned(op: dict[str, Any], what: str) -> None:
    assert op["status"] == "failed", op
    assert op["error"]["status"] == 409 and what in op["error"]["detail"], op["error"]
    assert "nothing was changed" in op["error"]["detail"]


def test_an_operator_release_of_the_same_name_survives_create_poll_and_delete(
        api: Api, site: Site, chart: Path, cluster: Cluster) -> None:
    operator_helm(site, "install", "ran-core", str(chart), "--namespace", "ran-ops", "--create-namespace",
                  "--set", "replicaCount=1", "--wait", "--timeout", "30s")
    package_id = chart_package(api, site, chart)

    deployment_id, accepted = create(api, site, package_id, "ran-core", "ran-ops")
    assert_not_owned(operation(api, accepted), "helm release 'ran-core' in namespace 'ran-ops' was not created by "
                                               "netweave")
    item = f"{DEPLOYMENTS}/{deployment_id}"
    shown = call(api, "GET", item).json()
    assert shown["status"] == "failed" and "not created by netweave" in shown["extensions"]["statusReason"]
    assert "revision" not in shown["extensions"]  # the operator's release is not recorded as this deployment's

    def untouched() -> None:
        secrets = release_secrets(cluster, "ran-core", "ran-ops")
        assert [(meta["labels"]["version"], MARKER in meta["labels"]) for meta in secrets] == [("1", False)]
        assert replicas(cluster, "ran-core", "ran-ops") == 1
        assert json.loads(operator_helm(site, "get", "values", "ran-core", "-n", "ran-ops", "-o", "json")) == \
            {"replicaCount": 1}

    untouched()
    dms_handlers.scheduled_deployment_poll(site.components)  # the poller must not adopt it either
    polled = call(api, "GET", item).json()
    assert polled["status"] == "failed" and "not this deployment's" in polled["extensions"]["statusReason"]

    delete = call(api, "DELETE", item)
    run_worker(site.components)
    assert operation(api, delete)["status"] == "succeeded"
    assert call(api, "GET", item).status == 404  # netweave's record is gone: it never installed anything
    untouched()  # and the operator's release is still there, unchanged


def test_scale_and_delete_of_a_release_without_the_marker_are_refused_until_an_operator_adopts_it(
        api: Api, site: Site, chart: Path, cluster: Cluster) -> None:
    package_id = chart_package(api, site, chart)
    deployment_id, accepted = create(api, site, package_id, "ran-own", "ran-own")
    assert operation(api, accepted)["status"] == "succeeded"
    item = f"{DEPLOYMENTS}/{deployment_id}"
    [secret] = release_secrets(cluster, "ran-own", "ran-own")
    assert secret["labels"][MARKER] == deployment_id  # netweave's own release carries its marker

    # A release from an earlier netweave (or one an operator replaced): no marker.
    cluster.core().patch_namespaced_secret(secret["name"], "ran-own", {"metadata": {"labels": {MARKER: None}}})
    scaled = call(api, "POST", f"{item}/scale", {"replicas": 5, "timeoutSeconds": 30})
    run_worker(site.components)
    assert_not_owned(operation(api, scaled), "helm release 'ran-own' in namespace 'ran-own'")
    delete = call(api, "DELETE", item)
    run_worker(site.components)
    refused = operation(api, delete)
    assert_not_owned(refused, f"kubectl label secret --namespace ran-own --selector owner=helm,name=ran-own "
                              f"{MARKER}={deployment_id}")
    assert call(api, "GET", item).json()["status"] == "deployed"  # refused: the deployment keeps its status
    assert [meta["labels"]["version"] for meta in release_secrets(cluster, "ran-own", "ran-own")] == ["1"]
    assert replicas(cluster, "ran-own", "ran-own") == 3

    # The operator adopts it as docs/dms.md says: every revision labelled with the deployment id.
    for meta in release_secrets(cluster, "ran-own", "ran-own"):
        cluster.core().patch_namespaced_secret(meta["name"], "ran-own",
                                               {"metadata": {"labels": {MARKER: deployment_id}}})
    scaled = call(api, "POST", f"{item}/scale", {"replicas": 2, "timeoutSeconds": 30})
    run_worker(site.components)
    assert operation(api, scaled)["status"] == "succeeded"
    assert replicas(cluster, "ran-own", "ran-own") == 2
    assert [meta["labels"][MARKER] for meta in release_secrets(cluster, "ran-own", "ran-own")] == [deployment_id] * 2
    delete = call(api, "DELETE", item)
    run_worker(site.components)
    assert operation(api, delete)["status"] == "succeeded" and call(api, "GET", item).status == 404
    assert release_secrets(cluster, "ran-own", "ran-own") == []


def test_an_operator_argocd_application_is_not_adopted(api: Api, site: Site, chart_repository: str,
                                                       cluster: Cluster) -> None:
    group, version, namespace, plural = ARGO
    theirs = {"apiVersion": f"{group}/{version}", "kind": "Application",
              "metadata": {"name": "ran-argo.du-core", "labels": {"team": "ran"}},
              "spec": {"project": "default", "destination": {"server": "https://kubernetes.default.svc",
                                                              "namespace": "ran-argo"},
                       "source": {"repoURL": "https://charts.operator.example", "chart": "du",
                                  "targetRevision": "9.9.9"}}}
    cluster.custom().create_namespaced_custom_object(group, version, namespace, plural, theirs)
    before = cluster.custom().get_namespaced_custom_object(group, version, namespace, plural, "ran-argo.du-core")
    package = call(api, "POST", "/o2dms/v1/deploymentPackages", {
        "packageType": "helm-repo", "repositoryUrl": chart_repository, "chart": "du", "version": "1.0.0",
        "name": f"du-{uuid.uuid4().hex[:6]}"}).json()

    deployment_id, accepted = create(api, site, package["packageId"], "du-core", "ran-argo", deploymentType="gitops")
    assert_not_owned(operation(api, accepted), "ArgoCD Application 'ran-argo.du-core' in namespace 'argocd'")
    after = cluster.custom().get_namespaced_custom_object(group, version, namespace, plural, "ran-argo.du-core")
    assert after["spec"] == before["spec"] and after["metadata"]["labels"] == {"team": "ran"}
    assert not after["metadata"].get("finalizers")  # no cascade-delete finalizer was added
    delete = call(api, "DELETE", f"{DEPLOYMENTS}/{deployment_id}")
    run_worker(site.components)
    assert operation(api, delete)["status"] == "succeeded"  # only netweave's record goes
    assert cluster.custom().get_namespaced_custom_object(group, version, namespace, plural, "ran-argo.du-core")

    own_id, own = create(api, site, package["packageId"], "du-own", "ran-argo", deploymentType="gitops")
    assert operation(api, own)["status"] == "succeeded"
    app = cluster.custom().get_namespaced_custom_object(group, version, namespace, plural, "ran-argo.du-own")
    assert app["metadata"]["labels"][MARKER] == own_id


def test_an_operator_flux_helmrelease_is_never_replaced(api: Api, site: Site, chart_repository: str,
                                                        cluster: Cluster) -> None:
    group, version = HELMRELEASES
    cluster.core().create_namespace({"metadata": {"name": "flux-ops"}})
    theirs = {"apiVersion": f"{group}/{version}", "kind": "HelmRelease",
              "metadata": {"name": "du-core", "labels": {"team": "ran"}},
              "spec": {"interval": "10m", "values": {"replicaCount": 1},
                       "chart": {"spec": {"chart": "du", "version": "9.9.9",
                                          "sourceRef": {"kind": "HelmRepository", "name": "operators"}}}}}
    cluster.custom().create_namespaced_custom_object(group, version, "flux-ops", "helmreleases", theirs)
    before = cluster.custom().get_namespaced_custom_object(group, version, "flux-ops", "helmreleases", "du-core")
    package = call(api, "POST", "/o2dms/v1/deploymentPackages", {
        "packageType": "helm-repo", "repositoryUrl": chart_repository, "chart": "du", "version": "1.0.0",
        "name": f"du-{uuid.uuid4().hex[:6]}"}).json()

    deployment_id, accepted = create(api, site, package["packageId"], "du-core", "flux-ops")
    assert_not_owned(operation(api, accepted), "Flux HelmRelease 'du-core' in namespace 'flux-ops'")
    after = cluster.custom().get_namespaced_custom_object(group, version, "flux-ops", "helmreleases", "du-core")
    assert after["spec"] == before["spec"] and after["metadata"]["labels"] == {"team": "ran"}
    delete = call(api, "DELETE", f"{DEPLOYMENTS}/{deployment_id}")
    run_worker(site.components)
    assert operation(api, delete)["status"] == "succeeded"
    assert cluster.custom().get_namespaced_custom_object(group, version, "flux-ops", "helmreleases", "du-core")

    own_id, own = create(api, site, package["packageId"], "du-own", "flux-ops")
    assert operation(api, own)["status"] == "succeeded"
    mine = cluster.custom().get_namespaced_custom_object(group, version, "flux-ops", "helmreleases", "du-own")
    assert mine["metadata"]["labels"][MARKER] == own_id


def test_an_operator_flux_source_of_the_same_name_is_not_rewritten(api: Api, site: Site, chart_repository: str,
                                                                   cluster: Cluster) -> None:
    """netweave names the HelmRepository it shares between releases after the repository URL; an operator's object
    that happens to bear that name is not patched to point elsewhere."""
    group, version, plural = flux_mapping.SOURCE_GROUP, "v1", "helmrepositories"
    package = call(api, "POST", "/o2dms/v1/deploymentPackages", {
        "packageType": "helm-repo", "repositoryUrl": f"{chart_repository}/mirror", "chart": "du", "version": "1.0.0",
        "name": f"du-{uuid.uuid4().hex[:6]}"}).json()
    name = flux_mapping.source_name(package["repositoryUrl"])  # a URL no other test uses: this test's source name
    theirs = {"apiVersion": f"{group}/{version}", "kind": "HelmRepository", "metadata": {"name": name},
              "spec": {"interval": "1h", "url": "https://charts.operator.example"}}
    cluster.custom().create_namespaced_custom_object(group, version, "flux-system", plural, theirs)
    _, accepted = create(api, site, package["packageId"], "du-src", "flux-src")
    assert_not_owned(operation(api, accepted), f"Flux HelmRepository '{name}' in namespace 'flux-system'")
    after = cluster.custom().get_namespaced_custom_object(group, version, "flux-system", plural, name)
    assert after["spec"]["url"] == "https://charts.operator.example"
    with pytest.raises(Exception, match=r"404|Not Found"):
        cluster.custom().get_namespaced_custom_object(HELMRELEASES[0], HELMRELEASES[1], "flux-src", "helmreleases",
                                                      "du-src")
