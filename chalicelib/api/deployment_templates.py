"""O2dms deployment templates: `/o2dms/v1/deploymentTemplates` (GET list, POST) and `/{deploymentTemplateId}` (GET,
PUT, DELETE); docs/dms.md, "Deployment templates"."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Response
from pydantic import ConfigDict, model_validator

from chalicelib.api.auth import current_access
from chalicelib.api.listing import ListQuery, marker_codec, page_response
from chalicelib.api.ports import ports
from chalicelib.api.queries import SelectorQuery
from chalicelib.api.routing import Router
from chalicelib.domain.auth import Scope
from chalicelib.domain.deployment_templates import TEMPLATES_PATH, DeploymentTemplate, DeploymentTemplateData

if TYPE_CHECKING:  # views import the service when called: a cold start that serves other routes never loads it
    from chalicelib.services.deployment_templates import DeploymentTemplatePorts

ITEM = f"{TEMPLATES_PATH}/{{deploymentTemplateId}}"
# What a GET answers besides the data: a client may send it back unchanged in a PUT (GET, modify, PUT).
_READ_ONLY = ("deploymentTemplateId", "createdAt", "updatedAt")

blueprint = Blueprint(__name__)
router = Router(blueprint, tag="deployment-templates")


class DeploymentTemplateReplacement(DeploymentTemplateData):
    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)

    @model_validator(mode="after")
    def _known_fields(self) -> DeploymentTemplateReplacement:
        unknown = sorted(set(self.model_extra or {}) - set(_READ_ONLY))
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(unknown)}")
        return self


def _ports() -> DeploymentTemplatePorts:
    return ports().deployment_template_ports()


def _shown(template: DeploymentTemplate, status: int) -> Response:
    return Response(body=template.to_wire(), status_code=status, headers={
        "Location": f"{TEMPLATES_PATH}/{template.deployment_template_id}", "Content-Type": "application/json"})


@router.route(TEMPLATES_PATH, "GET", summary="List deployment templates", scope=Scope.DMS_READ, query=ListQuery,
              response=DeploymentTemplate, collection=True)
def list_deployment_templates(query: ListQuery) -> Response:
    from chalicelib.services import deployment_templates as service
    from chalicelib.services.paging import ListRequest

    request = ListRequest(query.selection(), query.page_size(), query.parsed_filter(), query.marker(),
                          codec=marker_codec())
    return page_response(blueprint.current_request, service.list_templates(
        ports().deployment_template_store, request, access=current_access()))


@router.route(TEMPLATES_PATH, "POST", summary="Create a deployment template (a named, versioned deployment pattern)",
              scope=Scope.DMS_WRITE, body=DeploymentTemplateData, response=DeploymentTemplate, status=201,
              responses=(400, 403, 409, 422))
def create_deployment_template(body: DeploymentTemplateData) -> Response:
    from chalicelib.services import deployment_templates as service

    return _shown(service.create_template(_ports(), body, current_access()), 201)


@router.route(ITEM, "GET", summary="One deployment template", scope=Scope.DMS_READ, query=SelectorQuery,
              response=DeploymentTemplate, responses=(400, 404))
def get_deployment_template(deploymentTemplateId: str, query: SelectorQuery) -> dict[str, Any]:
    from chalicelib.services import deployment_templates as service

    return service.get_template(ports().deployment_template_store, deploymentTemplateId, query.selection(),
                                access=current_access())


@router.route(ITEM, "PUT", summary="Replace a deployment template (409 once a deployment uses it)",
              scope=Scope.DMS_WRITE, body=DeploymentTemplateReplacement, response=DeploymentTemplate,
              responses=(400, 403, 404, 409, 422))
def replace_deployment_template(deploymentTemplateId: str, body: DeploymentTemplateReplacement) -> Response:
    from chalicelib.services import deployment_templates as service

    shown = dict(body.model_extra or {})
    data = DeploymentTemplateData.model_validate(body.model_dump(by_alias=True, exclude=set(shown)))
    template = service.replace_template(_ports(), deploymentTemplateId, data, current_access(), shown)
    return _shown(template, 200)


@router.route(ITEM, "DELETE", summary="Delete a deployment template (409 while a deployment uses it)",
              scope=Scope.DMS_WRITE, responses=(403, 404, 409))
def delete_deployment_template(deploymentTemplateId: str) -> Response:
    from chalicelib.services import deployment_templates as service

    service.delete_template(_ports(), deploymentTemplateId, access=current_access())
    return Response(body="", status_code=204)
