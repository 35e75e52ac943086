"""GitOps on the running local stack, as an SMO uses it: a chart registered by reference is deployed through ArgoCD
(routing rule `deploymentType: gitops`) and through Flux, becomes deployed, scales, and is deleted."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

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
        chart = f"du-{uuid.uuid4().hex[:6]}"
        package = client.post(f"{DMS}/deploymentPackages", json={
            "packageType": "helm-repo", "repositoryUrl": "https://charts.example.net/ran", "chart": chart,
            "version": "3.0.0"})
        assert package.status_code == 201, package.text
        created = client.post(f"{DMS}/deployments", json={
            "name": chart, "namespace": f"ran-{backend}", "packageId": package.json()["packageId"],
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
