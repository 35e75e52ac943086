"""GitOps on the running local stack, as an SMO uses it: a chart registered by reference is deployed through ArgoCD
(routing rule `deploymentType: gitops`) and through Flux, becomes deployed, scales, and is deleted; an uploaded
archive is deployed through ArgoCD from the repository netweave publishes."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools.chart_repo import build_repository
from tests.e2e.conftest import LocalStack, eventually

pytestmark = pytest.mark.xdist_group("stack")
DMS = "/o2dms/v1"


def operation_done(client: httpx.Client, href: str) -> dict[str, Any] | None:
    operation = client.get(href).json()
    return dict(operation) if operation["status"] in ("succeeded", "failed") else None


def settled(client: httpx.Client, item: str) -> dict[str, Any] | None:
    deployment = client.get(item).json()
    return dict(deployment) if deployment["status"] in ("deployed", "failed") else None


@pytest.mark.parametrize(("deployment_type", "backend"), [("gitops", "argocd"), ("flux", "flux")])
def test_a_repository_chart_is_deployed_scaled_and_deleted_by_a_gitops_backend(
        stack: LocalStack, deployment_type: str, backend: str) -> None:
    with stack.client() as client:
        name = f"cu-{uuid.uuid4().hex[:6]}"
        package = client.post(f"{DMS}/deploymentPackages", json={
            "packageType": "helm-repo", "repositoryUrl": stack.chart_repository, "chart": "cu", "version": "3.0.0",
            "name": name})
        assert package.status_code == 201, package.text
        created = client.post(f"{DMS}/deployments", json={
            "name": name, "namespace": f"ran-{backend}", "packageId": package.json()["packageId"],
            "values": {"cellId": "12345", "replicaCount": 2}, "extensions": {"deploymentType": deployment_type}})
        assert created.status_code == 202, created.text
        deployment = created.json()
        assert deployment["extensions"]["dmsAdapter"] == backend
        item = f"{DMS}/deployments/{deployment['deploymentId']}"
        shown = eventually(lambda: settled(client, item))
        assert shown and shown["status"] == "deployed", shown
        assert backend in shown["extensions"]

        scale = client.post(f"{item}/scale", json={"replicas": 4})
        assert scale.status_code == 202
        done = eventually(lambda: operation_done(client, scale.headers["location"]))
        assert done and done["status"] == "succeeded", done
        assert client.get(item).json()["values"]["replicaCount"] == 4

        deleted = client.delete(item)
        assert deleted.status_code == 202
        assert eventually(lambda: client.get(item).status_code == 404)


def test_an_uploaded_archive_is_deployed_by_argocd_from_the_published_repository(
        stack: LocalStack, tmp_path: Path) -> None:
    chart = f"ar{uuid.uuid4().hex[:6]}"
    archive = build_repository(tmp_path, [(chart, "1.0.0")]) / f"{chart}-1.0.0.tgz"
    with stack.client() as client:
        package = client.post(f"{DMS}/deploymentPackages", content=archive.read_bytes(),
                              headers={"Content-Type": "application/gzip"})
        assert package.status_code == 201, package.text
        created = client.post(f"{DMS}/deployments", json={
            "name": chart, "namespace": "ran-archive", "packageId": package.json()["packageId"],
            "values": {"replicaCount": 2}, "extensions": {"deploymentType": "gitops"}})
        assert created.status_code == 202, created.text
        assert created.json()["extensions"]["dmsAdapter"] == "argocd"
        item = f"{DMS}/deployments/{created.json()['deploymentId']}"
        shown = eventually(lambda: settled(client, item))
        assert shown and shown["status"] == "deployed", shown
        assert shown["extensions"]["replicas"] == {"desired": 2, "ready": 2}, shown
        assert client.delete(item).status_code == 202
        assert eventually(lambda: client.get(item).status_code == 404)
