"""Uploaded chart archives deployed by ArgoCD: with `chartRepositoryUrl` set on an argocd backend, netweave publishes
a Helm repository index of its archives next to them in the packages bucket; fronted over HTTP (`BucketFront`, as
CloudFront would), ArgoCD (kubesim's, which really fetches with `helm template --repo`) reads the chart from there,
and a deleted package leaves the index."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from chalice.test import Client

from chalicelib import resources
from chalicelib.domain.auth import ALL_SCOPES
from devtools.chart_repo import BucketFront, build_repository
from devtools.token import mint_token
from tests.conftest import PROJECT_DIR
from tests.functional.conftest import SECRET, Api, quick_gitops, serving
from tests.functional.inventory_fixtures import Site, site_environment
from tests.functional.test_deployments_flow import call, run_worker

pytestmark = pytest.mark.xdist_group("gitops-archives")  # one site (kubesim, stage) for the module
PACKAGES, DEPLOYMENTS = "/o2dms/v1/deploymentPackages", "/o2dms/v1/deployments"
CHART = f"ran{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def site(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, str]]:
    tmp = tmp_path_factory.mktemp("archives-site")
    stage = f"t{uuid.uuid4().hex[:8]}"
    front = BucketFront(boto3.client("s3"), resources.physical_name(stage, resources.PACKAGES_BUCKET.logical_name))
    repository = f"{front.url}/"  # a trailing slash is allowed: the adapter trims it
    kubeconfig = tmp / "kubeconfig"
    backends = (
        "dmsAdapters:\n"
        f"  - {{id: helm, type: helm, default: true, options: {{kubeconfig: {kubeconfig}}}}}\n"
        f"  - {{id: argocd, type: argocd, options: {{kubeconfig: {kubeconfig}, defaultTimeoutSeconds: 30, "
        f"automatedSync: false, chartRepositoryUrl: '{repository}'}}}}\n"
        f"  - {{id: flux, type: flux, options: {{kubeconfig: {kubeconfig}, defaultTimeoutSeconds: 30, "
        f"chartRepositoryUrl: '{repository}'}}}}\n"
        "routing:\n  dms:\n    - {deploymentType: gitops, adapter: argocd}\n"
        "    - {deploymentType: flux, adapter: flux}\n")
    with quick_gitops(), front:
        for environment in site_environment(tmp, adapter_id="archives-site", more_adapters=backends, stage=stage):
            yield environment, front.url


@pytest.fixture()
def api(site: tuple[Site, str]) -> Iterator[Api]:
    import app

    with serving(site[0].components), Client(app.app, stage_name="dev", project_dir=str(PROJECT_DIR)) as client:
        yield Api(client, mint_token(SECRET, ALL_SCOPES))


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    directory = build_repository(tmp_path_factory.mktemp("archives"),
                                 [(CHART, "1.0.0"), (CHART, "1.1.0"), (f"{CHART}f", "2.0.0")])
    archives = {version: (directory / f"{CHART}-{version}.tgz").read_bytes() for version in ("1.0.0", "1.1.0")}
    return {**archives, "flux": (directory / f"{CHART}f-2.0.0.tgz").read_bytes()}


def upload(api: Api, data: bytes) -> dict[str, Any]:
    reply = call(api, "POST", PACKAGES, data, headers={"Content-Type": "application/gzip"})
    assert reply.status == 201, reply.body
    return dict(reply.json())


def index(repository: str) -> dict[str, set[str]]:
    """The repository as a GitOps tool reads it: helm's own view of index.yaml over HTTP."""
    reply = httpx.get(f"{repository}/index.yaml", timeout=10)
    assert reply.status_code == 200, reply.text
    entries = (reply.json().get("entries") or {})
    return {name: {e["version"] for e in versions} for name, versions in entries.items()}


def test_an_uploaded_archive_is_published_and_deployed_by_argocd(
        api: Api, site: tuple[Site, str], archives: dict[str, bytes], tmp_path: Path) -> None:
    served, repository = site
    first, second = upload(api, archives["1.0.0"]), upload(api, archives["1.1.0"])
    assert index(repository)[CHART] == {"1.0.0", "1.1.0"}
    rendered = subprocess.run(  # the real helm fetches it the way ArgoCD's repo-server does
        [str(PROJECT_DIR / ".local" / "bin" / "helm"), "template", "probe", CHART, "--repo", repository,
         "--version", "1.1.0"], check=False, capture_output=True, text=True, timeout=60,
        env={"HOME": str(tmp_path), "HELM_CACHE_HOME": str(tmp_path / "cache"),
             "HELM_CONFIG_HOME": str(tmp_path / "config"), "PATH": "/usr/bin:/bin"})
    assert rendered.returncode == 0 and f"helm.sh/chart: {CHART}-1.1.0" in rendered.stdout, rendered.stderr

    accepted = call(api, "POST", DEPLOYMENTS, {"name": f"{CHART}-edge", "namespace": "ran-archives",
                                               "packageId": first["packageId"], "values": {"replicaCount": 2},
                                               "extensions": {"deploymentType": "gitops"}})
    assert accepted.status == 202, accepted.body
    deployment_id = accepted.json()["deploymentId"]
    assert accepted.json()["extensions"]["dmsAdapter"] == "argocd"
    run_worker(served.components)
    shown = call(api, "GET", f"{DEPLOYMENTS}/{deployment_id}").json()
    assert shown["status"] == "deployed" and shown["extensions"]["replicas"] == {"desired": 2, "ready": 2}, shown

    upgrade = call(api, "POST", f"{DEPLOYMENTS}/{deployment_id}/upgrade", {"packageId": second["packageId"]})
    assert upgrade.status == 202, upgrade.body
    run_worker(served.components)
    status = call(api, "GET", f"{DEPLOYMENTS}/{deployment_id}/status").json()
    assert status["release"]["chartVersion"] == "1.1.0" and status["ready"] is True, status

    in_use = call(api, "DELETE", f"{PACKAGES}/{second['packageId']}")
    assert in_use.status == 409
    assert call(api, "DELETE", f"{DEPLOYMENTS}/{deployment_id}").status == 202
    run_worker(served.components)
    assert call(api, "DELETE", f"{PACKAGES}/{first['packageId']}").status == 204
    assert index(repository)[CHART] == {"1.1.0"}  # a deleted package leaves the repository


def test_flux_deploys_an_uploaded_archive_from_the_published_repository(
        api: Api, site: tuple[Site, str], archives: dict[str, bytes]) -> None:
    served, _ = site
    package = upload(api, archives["flux"])
    accepted = call(api, "POST", DEPLOYMENTS, {"name": f"{CHART}-flux", "namespace": "ran-archives-flux",
                                               "packageId": package["packageId"], "values": {"replicaCount": 1},
                                               "extensions": {"deploymentType": "flux"}})
    assert accepted.status == 202, accepted.body
    assert accepted.json()["extensions"]["dmsAdapter"] == "flux"
    run_worker(served.components)
    deployment_id = accepted.json()["deploymentId"]
    status = call(api, "GET", f"{DEPLOYMENTS}/{deployment_id}/status").json()
    assert status["ready"] is True and status["release"]["chartVersion"] == "2.0.0", status
    assert call(api, "DELETE", f"{DEPLOYMENTS}/{deployment_id}").status == 202
    run_worker(served.components)
