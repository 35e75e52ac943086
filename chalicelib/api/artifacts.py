"""O2ims Infrastructure Artifacts: the infrastructure templates provisioning requests are made from, read-only
(docs/provisioning.md "Templates", docs/o2-conventions.md §1).

- GET `/o2ims-infrastructureArtifacts/v1/managedInfrastructureTemplates` (O2 query language, paging);
- GET `.../managedInfrastructureTemplates/{managedInfrastructureTemplateId}`, the id being the template's
  `artifactResourceId` or `<name>.<version>` (oran-o2ims's form);
- GET `.../{managedInfrastructureTemplateId}/defaults`: `{"templateDefaults": {...}}`.

Every other method answers 405 (routing.add_method_not_allowed_routes).
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response
from pydantic import Field

from chalicelib.api.listing import ListQuery, marker_codec, page_response
from chalicelib.api.ports import ports
from chalicelib.api.queries import SelectorQuery
from chalicelib.api.routing import Router
from chalicelib.domain.auth import Scope
from chalicelib.domain.infrastructure_templates import ManagedInfrastructureTemplate
from chalicelib.domain.models import WireModel

ROOT = "/o2ims-infrastructureArtifacts/v1"
TEMPLATES = f"{ROOT}/managedInfrastructureTemplates"
TEMPLATE = f"{TEMPLATES}/{{managedInfrastructureTemplateId}}"
DEFAULTS = f"{TEMPLATE}/defaults"

blueprint = Blueprint(__name__)
router = Router(blueprint, tag="artifacts")


class TemplateDefaults(WireModel):
    """A template's default parameters: what a provisioning request's `templateParameters` are merged over."""

    template_defaults: dict[str, Any] = Field(alias="templateDefaults")


@router.route(TEMPLATES, "GET", summary="List managed infrastructure templates", scope=Scope.IMS_READ,
              query=ListQuery, response=ManagedInfrastructureTemplate, collection=True)
def list_templates(query: ListQuery) -> Response:
    from chalicelib.services import infrastructure_templates as service  # views import services when called
    from chalicelib.services.paging import ListRequest

    request = ListRequest(query.selection(), query.page_size(), query.parsed_filter(), query.marker(),
                          codec=marker_codec())
    return page_response(blueprint.current_request, service.list_templates(ports().infrastructure_templates, request))


@router.route(TEMPLATE, "GET", summary="One managed infrastructure template", scope=Scope.IMS_READ,
              query=SelectorQuery, response=ManagedInfrastructureTemplate, responses=(404,))
def get_template(managedInfrastructureTemplateId: str, query: SelectorQuery) -> dict[str, Any]:
    from chalicelib.services import infrastructure_templates as service

    return service.get_template(ports().infrastructure_templates, managedInfrastructureTemplateId, query.selection())


@router.route(DEFAULTS, "GET", summary="A managed infrastructure template's default parameters",
              scope=Scope.IMS_READ, response=TemplateDefaults, responses=(404,))
def get_defaults(managedInfrastructureTemplateId: str) -> dict[str, Any]:
    from chalicelib.services import infrastructure_templates as service

    return service.template_defaults(ports().infrastructure_templates, managedInfrastructureTemplateId)
