"""O2dms deployments: `/o2dms/v1/deployments` (+ lifecycle operations, status, logs, history) and
`/o2dms/v1/operations/{operationId}`.

Every call that changes a deployment answers 202 with the operation that will do it; the worker
(`run_dms_operation`) runs it. Reads of status, logs and history ask the backend live.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from chalicelib.api.auth import current_access
from chalicelib.api.listing import ListQuery, marker_codec, page_response
from chalicelib.api.ports import ports
from chalicelib.api.queries import SelectorQuery
from chalicelib.api.routing import Router
from chalicelib.domain.auth import Scope
from chalicelib.domain.deployments import Deployment, Operation, OperationType
from chalicelib.domain.errors import BadRequest

if TYPE_CHECKING:  # views import the service when called: a cold start that serves other routes never loads it
    from chalicelib.services import deployments as service

ROOT = "/o2dms/v1"
COLLECTION = f"{ROOT}/deployments"
ITEM = f"{COLLECTION}/{{deploymentId}}"
MIN_TIMEOUT, MAX_TIMEOUT = 10, 840  # helm --wait; below the worker Lambda timeout (900 s) with room to fetch and record

blueprint = Blueprint(__name__)
router = Router(blueprint, tag="deployments")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    timeout_seconds: int | None = Field(default=None, alias="timeoutSeconds", ge=MIN_TIMEOUT, le=MAX_TIMEOUT,
                                        description="how long helm waits for readiness (default 300)")


class DeploymentExtensions(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    deployment_type: str | None = Field(default=None, alias="deploymentType", max_length=64)
    dms_adapter: str | None = Field(default=None, alias="dmsAdapter", max_length=64)
    labels: dict[str, str] | None = None


class CreateDeploymentRequest(_Body):
    """Two exclusive forms: a package (`name`, `namespace`, `packageId`, `values`, `resourcePoolId`), or a
    deployment template (`deploymentTemplateId`, `parameters`; docs/dms.md, "Deployments from templates"), which
    decides all of those and the backend, so it takes only `timeoutSeconds` and `extensions.labels` besides."""

    name: str | None = Field(default=None, min_length=1, max_length=253)
    namespace: str | None = Field(default=None, min_length=1, max_length=253)
    package_id: str | None = Field(default=None, alias="packageId", min_length=1, max_length=128)
    values: dict[str, Any] | None = None
    resource_pool_id: str | None = Field(default=None, alias="resourcePoolId", max_length=256)
    deployment_template_id: str | None = Field(default=None, alias="deploymentTemplateId", min_length=1,
                                               max_length=128)
    parameters: dict[str, Any] | None = Field(default=None, description="checked against the template's "
                                              "parameterSchema, merged over its defaultValues")
    extensions: DeploymentExtensions = Field(default_factory=DeploymentExtensions)

    @model_validator(mode="after")
    def _one_form(self) -> CreateDeploymentRequest:
        if self.deployment_template_id is None:
            _refuse_fields(self, "without deploymentTemplateId", "parameters")
            missing = [wire for wire, value in (("name", self.name), ("namespace", self.namespace),
                                                ("packageId", self.package_id)) if value is None]
            if missing:
                raise ValueError(f"{', '.join(missing)}: required (or deploy a template with deploymentTemplateId)")
        else:
            _refuse_fields(self, "with deploymentTemplateId (the template decides them)", "name", "namespace",
                           "packageId", "values", "resourcePoolId")
            _refuse_fields(self.extensions, "with deploymentTemplateId (the template's placement decides them)",
                           "deploymentType", "dmsAdapter", prefix="extensions.")
        return self


def _refuse_fields(model: BaseModel, why: str, *wire_names: str, prefix: str = "") -> None:
    given = [f"{prefix}{name}" for name in wire_names if _wire(model, name) is not None]
    if given:
        raise ValueError(f"{', '.join(given)}: not accepted {why}")


def _wire(model: BaseModel, wire_name: str) -> Any:
    return next(getattr(model, name) for name, f in type(model).model_fields.items()
                if (f.alias or name) == wire_name)


# Fields of a GET body a client may send back unchanged in a PUT (GET, modify, PUT).
_READ_ONLY = ("deploymentId", "name", "namespace", "packageVersion", "resourcePoolId", "status", "createdAt",
              "updatedAt", "extensions")


class UpdateDeploymentRequest(_Body):
    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)

    package_id: str | None = Field(default=None, alias="packageId", min_length=1, max_length=128)
    values: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _known_fields(self) -> UpdateDeploymentRequest:
        unknown = sorted(set(self.model_extra or {}) - set(_READ_ONLY))
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(unknown)}")
        return self


class ScaleRequest(_Body):
    replicas: int = Field(ge=0, le=1000)


class UpgradeRequest(_Body):
    """To another package (`packageId`, `values`), or to another version of the deployment's template
    (`deploymentTemplateId`, `parameters`: omitted, the ones the deployment recorded)."""

    package_id: str | None = Field(default=None, alias="packageId", min_length=1, max_length=128)
    values: dict[str, Any] | None = Field(default=None, description="replaces the values; omitted: kept")
    deployment_template_id: str | None = Field(default=None, alias="deploymentTemplateId", min_length=1,
                                               max_length=128)
    parameters: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> UpgradeRequest:
        if self.deployment_template_id is None:
            _refuse_fields(self, "without deploymentTemplateId", "parameters")
            if self.package_id is None:
                raise ValueError("packageId: required (or deploymentTemplateId)")
        else:
            _refuse_fields(self, "with deploymentTemplateId", "packageId", "values")
        return self


class RollbackRequest(_Body):
    revision: int | None = Field(default=None, ge=1, description="omitted: the previous revision")


class LogsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    container: str | None = Field(default=None, max_length=253)
    tail_lines: int | None = Field(default=None, alias="tailLines", ge=1, le=10000)
    since_seconds: int | None = Field(default=None, alias="sinceSeconds", ge=1)


def _ports() -> service.DeploymentPorts:
    return ports().deployment_ports()


def _accepted(operation: Operation) -> Response:
    href = operation.href or ""
    return Response(body=operation.to_wire(), status_code=202,
                    headers={"Location": href, "Content-Type": "application/json"})


@router.route(COLLECTION, "GET", summary="List deployments", scope=Scope.DMS_READ, query=ListQuery,
              response=Deployment, collection=True)
def list_deployments(query: ListQuery) -> Response:
    from chalicelib.services import deployments as service
    from chalicelib.services.paging import ListRequest

    request = ListRequest(query.selection(), query.page_size(), query.parsed_filter(), query.marker(),
                          codec=marker_codec())
    page = service.list_deployments(ports().deployment_store, request, access=current_access())
    return page_response(blueprint.current_request, page, service.unreachable_warning(page.items))


@router.route(COLLECTION, "POST", summary="Deploy a package or a deployment template (202: the install runs "
              "asynchronously)",
              scope=Scope.DMS_WRITE, body=CreateDeploymentRequest, response=Deployment, status=202,
              responses=(400, 409, 422, 501, 503))
def create_deployment(body: CreateDeploymentRequest) -> Response:
    from chalicelib.services import deployments as service

    if body.deployment_template_id is not None:
        deployment, operation = _create_from_template(body)
    else:
        request = service.NewDeployment(
            name=str(body.name), namespace=str(body.namespace), package_id=str(body.package_id),
            values=body.values or {}, resource_pool_id=body.resource_pool_id, timeout_seconds=body.timeout_seconds,
            deployment_type=body.extensions.deployment_type, adapter_id=body.extensions.dms_adapter,
            labels=body.extensions.labels,
        )
        deployment, operation = service.create_deployment(_ports(), request, access=current_access())
    return Response(body=deployment.shown(), status_code=202, headers={
        "Location": deployment.href(), "Link": f'<{operation.href}>; rel="monitor"',
        "Content-Type": "application/json"})


def _create_from_template(body: CreateDeploymentRequest) -> tuple[Deployment, Operation]:
    from chalicelib.services import deployments_from_templates as templated

    request = templated.TemplatedDeployment(str(body.deployment_template_id), body.parameters or {},
                                            body.timeout_seconds, body.extensions.labels)
    return templated.create_from_template(_ports(), request, access=current_access())


@router.route(ITEM, "GET", summary="One deployment", scope=Scope.DMS_READ, query=SelectorQuery,
              response=Deployment, responses=(404,))
def get_deployment(deploymentId: str, query: SelectorQuery) -> dict[str, Any]:
    from chalicelib.services import deployments as service

    return service.get_deployment(ports().deployment_store, deploymentId, query.selection(), access=current_access())


@router.route(ITEM, "PUT", summary="Update a deployment's values and/or package (202: an upgrade runs)",
              scope=Scope.DMS_WRITE, body=UpdateDeploymentRequest, response=Operation, status=202,
              responses=(400, 404, 409, 422, 501, 503))
def update_deployment(deploymentId: str, body: UpdateDeploymentRequest) -> Response:
    from chalicelib.services import deployments as service

    access = current_access()
    current = service.find(ports().deployment_store, deploymentId, access)
    _check_unchanged(current.to_wire(), body.model_extra or {})
    if body.values is None and body.package_id is None:
        raise BadRequest("give 'values' and/or 'packageId' to change")
    parameters = {"packageId": body.package_id, "values": body.values}
    operation = service.request_operation(_ports(), deploymentId, OperationType.UPDATE,
                                          {k: v for k, v in parameters.items() if v is not None},
                                          body.timeout_seconds, access=access)
    return _accepted(operation)


def _check_unchanged(current: dict[str, Any], sent: dict[str, Any]) -> None:
    """Identity fields of a GET body sent back must be unchanged; status, times and extensions are ignored (pollers
    change them between a client's GET and its PUT)."""
    for name in ("deploymentId", "name", "namespace", "resourcePoolId"):
        if name in sent and sent[name] != current.get(name):
            raise BadRequest(f"{name}: cannot be changed by PUT (create a new deployment instead)")
    if "packageVersion" in sent and sent["packageVersion"] != current.get("packageVersion"):
        raise BadRequest("packageVersion: follows the package; to change it, give the new version's packageId")


@router.route(ITEM, "DELETE", summary="Uninstall a deployment (202)", scope=Scope.DMS_WRITE, response=Operation,
              status=202, responses=(404, 409, 503))
def delete_deployment(deploymentId: str) -> Response:
    from chalicelib.services import deployments as service

    return _accepted(service.request_operation(_ports(), deploymentId, OperationType.DELETE, {},
                                               access=current_access()))


@router.route(f"{ITEM}/scale", "POST", summary="Scale a deployment (202)", scope=Scope.DMS_WRITE,
              body=ScaleRequest, response=Operation, status=202, responses=(400, 404, 409, 501, 503))
def scale_deployment(deploymentId: str, body: ScaleRequest) -> Response:
    from chalicelib.services import deployments as service

    return _accepted(service.request_operation(_ports(), deploymentId, OperationType.SCALE,
                                               {"replicas": body.replicas}, body.timeout_seconds,
                                               access=current_access()))


@router.route(f"{ITEM}/upgrade", "POST", summary="Upgrade a deployment to another package or template version (202)",
              scope=Scope.DMS_WRITE, body=UpgradeRequest, response=Operation, status=202,
              responses=(400, 404, 409, 422, 501, 503))
def upgrade_deployment(deploymentId: str, body: UpgradeRequest) -> Response:
    from chalicelib.services import deployments as service

    if body.deployment_template_id is not None:
        from chalicelib.services import deployments_from_templates as templated

        return _accepted(templated.upgrade_to_template(_ports(), deploymentId, body.deployment_template_id,
                                                       body.parameters, body.timeout_seconds,
                                                       access=current_access()))
    parameters: dict[str, Any] = {"packageId": body.package_id}
    if body.values is not None:
        parameters["values"] = body.values
    return _accepted(service.request_operation(_ports(), deploymentId, OperationType.UPGRADE, parameters,
                                               body.timeout_seconds, access=current_access()))


@router.route(f"{ITEM}/rollback", "POST", summary="Roll a deployment back to an earlier revision (202)",
              scope=Scope.DMS_WRITE, body=RollbackRequest, response=Operation, status=202,
              responses=(400, 404, 409, 501, 503))
def rollback_deployment(deploymentId: str, body: RollbackRequest) -> Response:
    from chalicelib.services import deployments as service

    parameters = {"revision": body.revision} if body.revision is not None else {}
    return _accepted(service.request_operation(_ports(), deploymentId, OperationType.ROLLBACK, parameters,
                                               body.timeout_seconds, access=current_access()))


@router.route(f"{ITEM}/status", "GET", summary="Live release status and workload readiness", scope=Scope.DMS_READ,
              responses=(404, 501, 503))
def deployment_status(deploymentId: str) -> dict[str, Any]:
    from chalicelib.services import deployments as service

    return service.deployment_status(_ports(), deploymentId, access=current_access())


@router.route(f"{ITEM}/logs", "GET", summary="Logs of the deployment's pods", scope=Scope.DMS_READ,
              query=LogsQuery, responses=(404, 501, 503))
def deployment_logs(deploymentId: str, query: LogsQuery) -> list[dict[str, Any]]:
    from chalicelib.services import deployments as service

    return service.deployment_logs(_ports(), deploymentId, query.container, query.tail_lines, query.since_seconds,
                                   access=current_access())


@router.route(f"{ITEM}/history", "GET", summary="Release revisions, oldest first", scope=Scope.DMS_READ,
              responses=(404, 501, 503))
def deployment_history(deploymentId: str) -> list[dict[str, Any]]:
    from chalicelib.services import deployments as service

    return service.deployment_history(_ports(), deploymentId, access=current_access())


@router.route(f"{ROOT}/operations/{{operationId}}", "GET", summary="One deployment operation",
              scope=Scope.DMS_READ, response=Operation, responses=(404,))
def get_operation(operationId: str) -> dict[str, Any]:
    from chalicelib.services import deployments as service

    return service.get_operation(ports().deployment_store, operationId, access=current_access())
