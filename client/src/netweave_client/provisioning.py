"""O2ims Infrastructure Provisioning (provisioning requests) and Infrastructure Artifacts (the templates they name),
docs/provisioning.md. Each operation is described once here; `Provisioning` and `AsyncProvisioning` (in
`provisioning_facades`) send it."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import httpx

from netweave_client import _core as c
from netweave_client._core import Call
from netweave_client._queries import ItemQuery, ListQuery, params
from netweave_client.models import (
    ManagedInfrastructureTemplate,
    ProvisioningRequestData,
    ProvisioningRequestInfo,
    TemplateDefaults,
)

REQUESTS = "/o2ims-infrastructureProvisioning/v1/provisioningRequests"
TEMPLATES = "/o2ims-infrastructureArtifacts/v1/managedInfrastructureTemplates"


def _request(request_id: str) -> str:
    return f"{REQUESTS}/{quote(request_id, safe='')}"


def _template(template_id: str, tail: str = "") -> str:
    return f"{TEMPLATES}/{quote(template_id, safe='')}{tail}"


def requests(q: ListQuery) -> Call[list[ProvisioningRequestInfo]]:
    return Call("GET", REQUESTS, c.model_list(ProvisioningRequestInfo), params(q))


def request(request_id: str, q: ItemQuery) -> Call[ProvisioningRequestInfo]:
    return Call("GET", _request(request_id), c.model(ProvisioningRequestInfo), params(q))


def create(data: ProvisioningRequestData) -> Call[ProvisioningRequestInfo]:
    return Call("POST", REQUESTS, c.model(ProvisioningRequestInfo), json=c.body(data))


def replace(request_id: str, data: ProvisioningRequestData) -> Call[ProvisioningRequestInfo]:
    return Call("PUT", _request(request_id), c.model(ProvisioningRequestInfo), json=c.body(data))


def delete(request_id: str) -> Call[ProvisioningRequestInfo]:
    """202: the request as DELETING; it answers 404 once what it made is gone."""
    return Call("DELETE", _request(request_id), c.model(ProvisioningRequestInfo))


def templates(q: ListQuery) -> Call[list[ManagedInfrastructureTemplate]]:
    return Call("GET", TEMPLATES, c.model_list(ManagedInfrastructureTemplate), params(q))


def template(template_id: str, q: ItemQuery) -> Call[ManagedInfrastructureTemplate]:
    return Call("GET", _template(template_id), c.model(ManagedInfrastructureTemplate), params(q))


def _defaults(response: httpx.Response) -> dict[str, Any]:
    return TemplateDefaults.model_validate(response.json()).template_defaults


def defaults(template_id: str) -> Call[dict[str, Any]]:
    return Call("GET", _template(template_id, "/defaults"), _defaults)


def new_request(template_name: str, template_version: str, parameters: dict[str, Any] | None,
                request_id: str | None, name: str | None, description: str | None,
                extensions: dict[str, Any] | None) -> ProvisioningRequestData:
    """The body of a POST; the id is the SMO's to choose (a UUID), a new one unless given."""
    return ProvisioningRequestData(
        provisioning_request_id=request_id or str(uuid.uuid4()), name=name, description=description,
        template_name=template_name, template_version=template_version, template_parameters=parameters or {},
        extensions=extensions)


def as_data(request: ProvisioningRequestInfo | ProvisioningRequestData) -> ProvisioningRequestData:
    """What a PUT sends back of a GET's answer: the request's own data (the gateway ignores what it assigned)."""
    if isinstance(request, ProvisioningRequestData):
        return request
    return ProvisioningRequestData(
        provisioning_request_id=request.provisioning_request_id, name=request.name,
        description=request.description, template_name=request.template_name,
        template_version=request.template_version, template_parameters=dict(request.template_parameters),
        extensions=request.extensions)


def resized(request: ProvisioningRequestInfo, size: int) -> ProvisioningRequestData:
    """The same request with `templateParameters.size` changed: how a pool is resized (docs/provisioning.md
    "Changing and retrying")."""
    data = as_data(request)
    return data.model_copy(update={"template_parameters": {**data.template_parameters, "size": size}})
