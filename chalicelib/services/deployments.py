"""Deployment use cases for the API: accept create/update/delete and lifecycle operations (the work runs in
`run_dms_operation`), read deployments and operations, and ask the backend for live status, logs and history.

Accepting is two writes: the deployment and its operation in one DynamoDB transaction (which also takes the
deployment's lock), then the queue message. If the message cannot be sent, the operation is marked failed and the
lock released before the error reaches the client, so nothing is left half-accepted; a message lost after that is
resubmitted by `poll_deployments`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.adapters.dms.port import (
    BackendRefused,
    DeploymentAdapter,
    DeploymentRegistry,
    PodLogs,
    ReleaseStatus,
    Revision,
)
from chalicelib.adapters.store.deployment_store import (
    DEPLOYMENT,
    START_KEY_ATTRIBUTES,
    DeploymentStore,
    start_key_after,
)
from chalicelib.adapters.store.deployment_template_store import DeploymentTemplateStore
from chalicelib.adapters.store.package_store import PackageStore
from chalicelib.domain.capabilities import Capability, require
from chalicelib.domain.deployments import (
    DEPLOYMENT_SELECTOR_SCHEMA,
    Deployment,
    DeploymentStatus,
    Operation,
    OperationError,
    OperationQueueUnavailable,
    OperationStatus,
    OperationType,
    check_namespace,
    check_release_name,
    operation_href,
)
from chalicelib.domain.errors import BadRequest, InvalidQuery, NotFound, UnprocessableContent
from chalicelib.domain.events import utc_now_iso
from chalicelib.domain.namespace_policy import NamespacePolicy
from chalicelib.domain.packages import DeploymentPackage
from chalicelib.domain.paging import INVALID as INVALID_MARKER
from chalicelib.domain.placement import NODE_SELECTOR, PlacementNotPossible, pool_node_selector
from chalicelib.domain.selectors import Selection, apply_selection, validate_selection
from chalicelib.domain.tenancy import Access
from chalicelib.services.dms_results import ROLLBACK_ON_FAILURE
from chalicelib.services.paging import ListRequest, Page, list_models

MAX_VALUES_BYTES = 64 * 1024  # values live in DynamoDB items (400 KB each), copied into operation and revision


class ReferenceNotFound(UnprocessableContent):
    """A body names a package or resource pool that does not exist: the request is well formed but cannot be
    carried out (the URI itself exists, so not 404)."""

    slug = "unknown-reference"


@dataclass(frozen=True)
class DeploymentPorts:
    store: DeploymentStore
    packages: PackageStore
    registry: DeploymentRegistry
    queue: Any  # SqsOperationQueue: submit(deployment_id, operation_id)
    # a resource pool's wire document (as the inventory stores it), None if there is no pool of that id
    resource_pool: Callable[[str], Mapping[str, Any] | None]
    # per backend id; a backend without an entry gets the default policy (any namespace but the protected ones)
    namespace_policies: Mapping[str, NamespacePolicy] = field(default_factory=dict)
    # deployments from templates (services/deployments_from_templates.py): the template store, and the inventory's
    # stored resource pools (wire documents) a template's pool filter is matched against
    templates: DeploymentTemplateStore | None = None
    resource_pools: Callable[[], Iterable[Mapping[str, Any]]] = lambda: ()

    def namespace_policy(self, adapter_id: str) -> NamespacePolicy:
        return self.namespace_policies.get(adapter_id) or NamespacePolicy(adapter_id)


@dataclass(frozen=True)
class NewDeployment:
    name: str
    namespace: str
    package_id: str
    values: dict[str, Any]
    resource_pool_id: str | None = None
    timeout_seconds: int | None = None
    deployment_type: str | None = None
    adapter_id: str | None = None
    labels: dict[str, str] | None = None
    # recorded in the deployment's extensions (a template's origin: services/deployments_from_templates.py)
    extensions: Mapping[str, Any] = field(default_factory=dict)


def check_values(values: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(values, separators=(",", ":")))
    if size > MAX_VALUES_BYTES:
        raise BadRequest(f"values: {size} bytes of JSON; at most {MAX_VALUES_BYTES} are accepted")
    return values


def _package(ports: DeploymentPorts, package_id: str, access: Access) -> DeploymentPackage:
    package = ports.packages.get(package_id)
    if package is None or not access.sees_package(package.owner):  # another tenant's: as if unknown
        raise ReferenceNotFound(f"packageId: no deployment package with id '{package_id}'")
    return package


def _deployable(adapter: DeploymentAdapter, package: DeploymentPackage) -> None:
    if package.package_type.value not in adapter.package_types:
        raise ReferenceNotFound(
            f"packageId: backend '{adapter.adapter_id}' deploys packages of type "
            f"{', '.join(sorted(adapter.package_types))}, not {package.package_type.value}; choose another backend "
            "(extensions.dmsAdapter or routing rules) or package")


def check_rollback_on_failure(adapter: DeploymentAdapter) -> None:
    """Only a backend that can undo a failed upgrade itself takes `rollbackOnFailure` (docs/dms.md, "Deployments
    from templates"): refused up front rather than promised and not kept."""
    if not getattr(adapter, "rolls_back_on_failure", False):
        raise UnprocessableContent(f"lifecycle.rollbackOnFailure: backend '{adapter.adapter_id}' cannot roll a failed "
                                   "upgrade back by itself; use a helm backend or a template without it")


def _choose_adapter(ports: DeploymentPorts, request: NewDeployment, package: DeploymentPackage) -> DeploymentAdapter:
    if request.adapter_id is not None:
        if request.adapter_id not in ports.registry.ids:
            raise BadRequest(f"extensions.dmsAdapter: no DMS backend '{request.adapter_id}'; known: "
                             + ", ".join(ports.registry.ids))
        adapter = ports.registry.get(request.adapter_id)
    else:
        adapter = ports.registry.route(request.namespace, request.labels, request.deployment_type,
                                       package.package_type.value)
    require(adapter, Capability.DEPLOY)
    return adapter


def create_deployment(ports: DeploymentPorts, request: NewDeployment, *,
                      access: Access) -> tuple[Deployment, Operation]:
    """The deployment belongs to the caller's tenant (`access.tenant`), and so does its operation."""
    check_release_name(request.name)
    check_namespace(request.namespace)
    check_values(request.values)
    package = _package(ports, request.package_id, access)
    node_selector = _pool_selector(ports, request.resource_pool_id)
    adapter = _choose_adapter(ports, request, package)
    if request.extensions.get(ROLLBACK_ON_FAILURE):
        check_rollback_on_failure(adapter)
    if node_selector is not None and adapter.placement_refusal is not None:
        raise PlacementNotPossible(f"resourcePoolId: backend '{adapter.adapter_id}' cannot place a deployment on a "
                                   f"resource pool: {adapter.placement_refusal}")
    ports.namespace_policy(adapter.adapter_id).check(request.namespace, access.tenant)
    _deployable(adapter, package)
    now, deployment_id, operation_id = utc_now_iso(), str(uuid.uuid4()), str(uuid.uuid4())
    extensions: dict[str, Any] = {**request.extensions, "dmsAdapter": adapter.adapter_id,
                                  "activeOperationId": operation_id}
    if request.deployment_type:
        extensions["deploymentType"] = request.deployment_type
    if node_selector is not None:
        extensions[NODE_SELECTOR] = node_selector  # resolved once: every later operation places on the same nodes
    deployment = Deployment(
        deployment_id=deployment_id, name=request.name, namespace=request.namespace, package_id=package.package_id,
        package_version=package.version, resource_pool_id=request.resource_pool_id, status=DeploymentStatus.PENDING,
        values=request.values, created_at=now, updated_at=now, extensions=extensions, owner=access.tenant,
    )
    parameters = {"packageId": package.package_id, "values": request.values}
    operation = _new_operation(operation_id, deployment_id, OperationType.CREATE, parameters, request.timeout_seconds,
                               deployment.owner)
    ports.store.create(deployment, operation)
    _submit(ports, deployment, operation)
    return deployment, operation


def _pool_selector(ports: DeploymentPorts, pool_id: str | None) -> dict[str, str] | None:
    """The node selector of the pool a deployment asks for (docs/dms.md, "Placement on a resource pool")."""
    if pool_id is None:
        return None
    pool = ports.resource_pool(pool_id)
    if pool is None:
        raise ReferenceNotFound(f"resourcePoolId: no resource pool with id '{pool_id}'")
    selector = pool_node_selector(pool)
    if selector is None:
        raise PlacementNotPossible(
            f"resourcePoolId: resource pool '{pool_id}' ({pool.get('name')}) has no node selector "
            "(extensions.nodeSelector): no node label picks exactly its nodes, so nothing could keep the "
            "deployment's pods on them (docs/o2-conventions.md); deploy without resourcePoolId or choose another pool")
    return selector


def _new_operation(operation_id: str, deployment_id: str, kind: OperationType, parameters: dict[str, Any],
                   timeout_seconds: int | None, owner: str | None) -> Operation:
    now = utc_now_iso()
    if timeout_seconds is not None:
        parameters = {**parameters, "timeoutSeconds": timeout_seconds}
    return Operation(operation_id=operation_id, deployment_id=deployment_id, operation_type=kind,
                     status=OperationStatus.QUEUED, parameters=parameters, created_at=now,
                     href=operation_href(operation_id),
                     owner=owner).with_progress(now, "accepted; queued for the worker")


def _submit(ports: DeploymentPorts, deployment: Deployment, operation: Operation) -> None:
    try:
        ports.queue.submit(deployment.deployment_id, operation.operation_id)
    except Exception as error:
        finished = utc_now_iso()
        failed = operation.model_copy(update={
            "status": OperationStatus.FAILED, "finished_at": finished,
            "error": OperationError(title="Service Unavailable", status=503,
                                    detail=f"the operation could not be queued ({type(error).__name__})")})
        if operation.operation_type is OperationType.CREATE:
            ports.store.remove(deployment, failed)  # as if never asked: the same create may be sent again
        else:
            ports.store.finish(deployment.model_copy(update={"extensions": {
                k: v for k, v in deployment.extensions.items() if k != "activeOperationId"}}), failed)
        raise OperationQueueUnavailable("the operation could not be queued; nothing was changed, try again") \
            from error


def request_operation(ports: DeploymentPorts, deployment_id: str, kind: OperationType,
                      parameters: dict[str, Any], timeout_seconds: int | None = None, *, access: Access) -> Operation:
    """Accept a lifecycle operation on an existing deployment: 404 if unknown (or another tenant's), 409 while
    another runs. The operation belongs to the deployment's tenant, whoever (an admin) asked for it."""
    deployment = find(ports.store, deployment_id, access)
    adapter = ports.registry.get(deployment.adapter_id)
    require(adapter, _CAPABILITY[kind])
    refusal = getattr(adapter, "refusal", None)  # a backend that knows it will say no (ArgoCD rollback + autosync)
    reason = refusal(kind.value) if refusal is not None else None
    if reason:
        raise BackendRefused(reason)
    if kind is not OperationType.DELETE:  # a policy tightened since: no more changes there, but it can be removed
        ports.namespace_policy(adapter.adapter_id).check(deployment.namespace, deployment.owner)
    if "values" in parameters and parameters["values"] is not None:
        check_values(parameters["values"])
    if parameters.get("packageId"):
        package = _package(ports, parameters["packageId"], access)
        _deployable(adapter, package)
        parameters = {**parameters, "packageVersion": package.version}
    operation_id = str(uuid.uuid4())
    operation = _new_operation(operation_id, deployment_id, kind, parameters, timeout_seconds, deployment.owner)
    held = deployment.model_copy(update={"extensions": {**deployment.extensions, "activeOperationId": operation_id}})
    ports.store.start_operation(held, operation)
    _submit(ports, held, operation)
    return operation


_CAPABILITY = {OperationType.UPDATE: Capability.UPGRADE, OperationType.UPGRADE: Capability.UPGRADE,
               OperationType.SCALE: Capability.SCALE, OperationType.ROLLBACK: Capability.ROLLBACK,
               OperationType.DELETE: Capability.DEPLOY, OperationType.CREATE: Capability.DEPLOY}


def find(store: DeploymentStore, deployment_id: str, access: Access) -> Deployment:
    deployment = store.get(deployment_id)
    # Another tenant's deployment is answered exactly like an unknown one: no existence oracle.
    if deployment is None or not access.sees(deployment.owner):
        raise NotFound(f"no deployment with id '{deployment_id}'")
    return deployment


def get_deployment(store: DeploymentStore, deployment_id: str, selection: Selection, *,
                   access: Access) -> dict[str, Any]:
    validate_selection(selection, DEPLOYMENT_SELECTOR_SCHEMA)
    return apply_selection(find(store, deployment_id, access).shown(), selection, DEPLOYMENT_SELECTOR_SCHEMA)


def get_operation(store: DeploymentStore, operation_id: str, *, access: Access) -> dict[str, Any]:
    """While its deployment exists, the deployment's owner decides who reads an operation (an admin may have
    assigned another); once it is gone, the owner the operation recorded."""
    operation = store.get_operation(operation_id)
    deployment = store.get(operation.deployment_id) if operation is not None else None
    owner = deployment.owner if deployment is not None else operation.owner if operation is not None else None
    if operation is None or not access.sees(owner):
        raise NotFound(f"no operation with id '{operation_id}'")
    return operation.to_wire()


def list_deployments(store: DeploymentStore, request: ListRequest, *, access: Access) -> Page:
    """The caller's tenant's deployments (an admin's: all), dropped before the page is cut so pages stay full."""
    return list_models(request, DEPLOYMENT_SELECTOR_SCHEMA, store.page, start_key_after, scope="deployments",
                       key_attributes=START_KEY_ATTRIBUTES, resume=_resume_key,
                       visible=lambda deployment: access.sees(deployment.owner), wire=Deployment.shown)


def _resume_key(key: dict[str, Any]) -> dict[str, Any]:
    """Beyond the signature: the key lies in the deployments' partition, as every key this list issues does (the
    table also holds operations and name reservations)."""
    if key["pk"]["S"] != DEPLOYMENT:
        raise InvalidQuery(INVALID_MARKER)
    return key


def unreachable_warning(items: list[dict[str, Any]]) -> str | None:
    """Lists never fail for a backend that is down: its deployments show their last known state, marked by the
    poller, and the list says so."""
    down = sorted({str((i.get("extensions") or {}).get("dmsAdapter")) for i in items
                   if ((i.get("extensions") or {}).get("backendStatus") or {}).get("reachable") is False})
    if not down:
        return None
    return f"backend(s) {', '.join(down)} unreachable: their deployments show the last known state"


# --- live views from the backend -------------------------------------------------------------------------------------

def _backend(ports: DeploymentPorts, deployment: Deployment, capability: Capability) -> DeploymentAdapter:
    adapter = ports.registry.get(deployment.adapter_id)
    require(adapter, capability)
    return adapter


def deployment_status(ports: DeploymentPorts, deployment_id: str, *, access: Access) -> dict[str, Any]:
    deployment = find(ports.store, deployment_id, access)
    adapter = _backend(ports, deployment, Capability.STATUS)
    view: dict[str, Any] = {"deploymentId": deployment_id, "status": deployment.status.value, "ready": False,
                            "workloads": [], "pods": []}
    release = _own_release(adapter, deployment)
    if release is None:
        return view  # not installed (yet, or any more), or not this deployment's
    view.update(ready=release.ready, release=_release_view(release),
                workloads=[w.__dict__ for w in release.workloads],
                pods=[{k: v for k, v in p.__dict__.items() if v is not None} for p in release.pods])
    return view


def _own_release(adapter: DeploymentAdapter, deployment: Deployment) -> ReleaseStatus | None:
    """The deployment's release; None if there is none, or if the one of that name carries no marker of this
    deployment (docs/dms.md, "Ownership markers"): another's state, history and logs are not this deployment's to
    show."""
    try:
        release = adapter.status(deployment.name, deployment.namespace)
    except NotFound:
        return None
    return release if release.owner == deployment.deployment_id else None


def _release_view(release: ReleaseStatus) -> dict[str, Any]:
    view = {"name": release.name, "namespace": release.namespace, "revision": release.revision,
            "status": release.status, "chart": release.chart_name, "chartVersion": release.chart_version,
            "appVersion": release.app_version, "updatedAt": release.updated_at}
    return {k: v for k, v in view.items() if v is not None}


def deployment_logs(ports: DeploymentPorts, deployment_id: str, container: str | None, tail_lines: int | None,
                    since_seconds: int | None, *, access: Access) -> list[dict[str, Any]]:
    deployment = find(ports.store, deployment_id, access)
    adapter = _backend(ports, deployment, Capability.LOGS)
    if _own_release(adapter, deployment) is None:
        return []
    try:
        logs: list[PodLogs] = adapter.logs(deployment.name, deployment.namespace, container, tail_lines,
                                           since_seconds)
    except NotFound:
        return []
    return [{"pod": p.pod, "container": p.container, "lines": p.lines} for p in logs]


def deployment_history(ports: DeploymentPorts, deployment_id: str, *, access: Access) -> list[dict[str, Any]]:
    deployment = find(ports.store, deployment_id, access)
    adapter = _backend(ports, deployment, Capability.STATUS)
    if _own_release(adapter, deployment) is None:
        return []
    try:
        revisions: list[Revision] = adapter.history(deployment.name, deployment.namespace)
    except NotFound:
        revisions = []
    recorded = {r["revision"]: r for r in ports.store.revisions(deployment_id)}
    return [_revision_view(r, recorded.get(r.revision)) for r in revisions]


def _revision_view(revision: Revision, recorded: dict[str, Any] | None) -> dict[str, Any]:
    view: dict[str, Any] = {"revision": revision.revision, "status": revision.status, "chart": revision.chart,
                            "appVersion": revision.app_version, "updatedAt": revision.updated_at,
                            "description": revision.description}
    if recorded is not None:
        view.update(packageId=recorded["packageId"], packageVersion=recorded["packageVersion"],
                    operationId=recorded["operationId"])
    else:  # made outside netweave: the version is the chart's, after its last '-'
        view["packageVersion"] = revision.chart.rpartition("-")[2] if "-" in revision.chart else None
    return {k: v for k, v in view.items() if v is not None}


class DeploymentUsage:
    """`PackageUsage` for package DELETE: a package is in use while a deployment runs it."""

    def __init__(self, store: DeploymentStore) -> None:
        self.store = store

    def is_in_use(self, package_id: str) -> bool:
        """Deployed now, or named by an accepted operation that has not finished (it will install it)."""
        if self.store.uses_package(package_id):
            return True
        pending = [op for status in ("queued", "running") for op, _ in self.store.operations_in(status)]
        return any(op.parameters.get("packageId") == package_id for op in pending)
