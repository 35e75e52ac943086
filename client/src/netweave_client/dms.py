"""netweave's O2dms: deployment packages, deployments and their lifecycle operations, operations, live views and
DMS subscriptions. Each operation is described once (`_calls`); `Dms` and `AsyncDms` (in `dms_facades`) send it."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from netweave_client import _core as c
from netweave_client._core import Call
from netweave_client._queries import ItemQuery, ListQuery, params
from netweave_client.live_models import DeploymentLiveStatus, PodLog, Revision
from netweave_client.models import (
    CreateDeploymentRequest,
    Deployment,
    DeploymentExtensions,
    DeploymentPackage,
    DeploymentSubscriptionInfo,
    DeploymentSubscriptionRequest,
    Operation,
    PackageUrlRequest,
    RollbackRequest,
    ScaleRequest,
    SourcePackageRequest,
    UpdateDeploymentRequest,
    UpgradeRequest,
)
from netweave_client.template_models import TemplateDeploymentRequest, TemplateUpgradeRequest

ROOT = "/o2dms/v1"


def _seg(value: str) -> str:
    return quote(value, safe="")


def _deployment(deployment_id: str, tail: str = "") -> str:
    return f"{ROOT}/deployments/{_seg(deployment_id)}{tail}"


def upload(archive: Path | bytes, checksum: str | None) -> Call[DeploymentPackage]:
    """A chart archive: sent as `application/gzip`, or as multipart with its `sha256:<hex>` checksum to match."""
    data = archive.read_bytes() if isinstance(archive, Path) else archive
    parse = c.model(DeploymentPackage)
    if checksum is None:
        return Call("POST", f"{ROOT}/deploymentPackages", parse, content=data,
                    headers={"Content-Type": "application/gzip"})
    import httpx  # the multipart encoder builds the body and its boundary header

    encoded = httpx.Request("POST", "http://encode.invalid/", files={"file": ("chart.tgz", data)},
                            data={"checksum": checksum})
    return Call("POST", f"{ROOT}/deploymentPackages", parse, content=encoded.read(),
                headers={"Content-Type": encoded.headers["Content-Type"]})


def register(request: PackageUrlRequest | SourcePackageRequest) -> Call[DeploymentPackage]:
    return Call("POST", f"{ROOT}/deploymentPackages", c.model(DeploymentPackage), json=c.body(request))


def packages(q: ListQuery) -> Call[list[DeploymentPackage]]:
    return Call("GET", f"{ROOT}/deploymentPackages", c.model_list(DeploymentPackage), params(q))


def package(package_id: str) -> Call[DeploymentPackage]:
    return Call("GET", f"{ROOT}/deploymentPackages/{_seg(package_id)}", c.model(DeploymentPackage))


def delete_package(package_id: str) -> Call[None]:
    return Call("DELETE", f"{ROOT}/deploymentPackages/{_seg(package_id)}", c.nothing)


def create(request: CreateDeploymentRequest | TemplateDeploymentRequest) -> Call[Deployment]:
    return Call("POST", f"{ROOT}/deployments", c.model(Deployment), json=c.body(request))


def deployments(q: ListQuery) -> Call[list[Deployment]]:
    return Call("GET", f"{ROOT}/deployments", c.model_list(Deployment), params(q))


def deployment(deployment_id: str, q: ItemQuery) -> Call[Deployment]:
    return Call("GET", _deployment(deployment_id), c.model(Deployment), params(q))


def update(deployment_id: str, request: UpdateDeploymentRequest) -> Call[Operation]:
    return Call("PUT", _deployment(deployment_id), c.model(Operation), json=c.body(request))


def scale(deployment_id: str, request: ScaleRequest) -> Call[Operation]:
    return Call("POST", _deployment(deployment_id, "/scale"), c.model(Operation), json=c.body(request))


def upgrade(deployment_id: str, request: UpgradeRequest | TemplateUpgradeRequest) -> Call[Operation]:
    return Call("POST", _deployment(deployment_id, "/upgrade"), c.model(Operation), json=c.body(request))


def rollback(deployment_id: str, request: RollbackRequest) -> Call[Operation]:
    return Call("POST", _deployment(deployment_id, "/rollback"), c.model(Operation), json=c.body(request))


def delete(deployment_id: str) -> Call[Operation]:
    return Call("DELETE", _deployment(deployment_id), c.model(Operation))


def status(deployment_id: str) -> Call[DeploymentLiveStatus]:
    return Call("GET", _deployment(deployment_id, "/status"), c.model(DeploymentLiveStatus))


def logs(deployment_id: str, container: str | None, tail_lines: int | None, since_seconds: int | None
         ) -> Call[list[PodLog]]:
    query = c.query(container=container, tailLines=tail_lines, sinceSeconds=since_seconds)
    return Call("GET", _deployment(deployment_id, "/logs"), c.model_list(PodLog), query)


def history(deployment_id: str) -> Call[list[Revision]]:
    return Call("GET", _deployment(deployment_id, "/history"), c.model_list(Revision))


def operation(operation_id: str) -> Call[Operation]:
    return Call("GET", f"{ROOT}/operations/{_seg(operation_id)}", c.model(Operation))


def subscriptions(q: ListQuery) -> Call[list[DeploymentSubscriptionInfo]]:
    return Call("GET", f"{ROOT}/subscriptions", c.model_list(DeploymentSubscriptionInfo), params(q))


def subscription(subscription_id: str) -> Call[DeploymentSubscriptionInfo]:
    return Call("GET", f"{ROOT}/subscriptions/{_seg(subscription_id)}", c.model(DeploymentSubscriptionInfo))


def subscribe(request: DeploymentSubscriptionRequest) -> Call[DeploymentSubscriptionInfo]:
    return Call("POST", f"{ROOT}/subscriptions", c.model(DeploymentSubscriptionInfo), json=c.body(request))


def unsubscribe(subscription_id: str) -> Call[None]:
    return Call("DELETE", f"{ROOT}/subscriptions/{_seg(subscription_id)}", c.nothing)


def create_request(name: str, namespace: str, package_id: str, values: dict[str, Any] | None,
                   resource_pool_id: str | None, timeout_seconds: int | None, dms_adapter: str | None,
                   deployment_type: str | None, labels: dict[str, str] | None) -> CreateDeploymentRequest:
    extensions = None
    if dms_adapter or deployment_type or labels:
        extensions = DeploymentExtensions(dms_adapter=dms_adapter, deployment_type=deployment_type, labels=labels)
    return CreateDeploymentRequest(name=name, namespace=namespace, package_id=package_id, values=values,
                                   resource_pool_id=resource_pool_id, timeout_seconds=timeout_seconds,
                                   extensions=extensions)


def upgrade_request(package_id: str | None, values: dict[str, Any] | None, timeout_seconds: int | None,
                    template_id: str | None, parameters: dict[str, Any] | None
                    ) -> UpgradeRequest | TemplateUpgradeRequest:
    """To another package (and values), or to a template (and parameters): one or the other."""
    if (package_id is None) == (template_id is None):
        raise ValueError("upgrade to a package_id or to a template_id (one of them)")
    if template_id is not None:
        if values is not None or timeout_seconds is not None:
            raise ValueError("an upgrade to a template takes parameters, not values or timeout_seconds")
        return TemplateUpgradeRequest(deployment_template_id=template_id, parameters=parameters)
    if parameters is not None:
        raise ValueError("parameters go with a template_id; a package upgrade takes values")
    return UpgradeRequest(package_id=str(package_id), values=values, timeout_seconds=timeout_seconds)


def operation_id_of(target: Operation | Deployment | str) -> str:
    """The operation to wait for: an Operation's own id, a just-created Deployment's active operation, or an id."""
    if isinstance(target, Operation):
        return target.operation_id
    if isinstance(target, Deployment):
        extensions = target.extensions or {}
        found = extensions.get("activeOperationId") or extensions.get("lastOperationId")
        if not found:
            raise ValueError(f"deployment {target.deployment_id} names no operation to wait for")
        return str(found)
    return target
