"""O2ims infrastructure provisioning: `/o2ims-infrastructureProvisioning/v1/provisioningRequests`
(docs/provisioning.md).

POST and PUT record what the SMO wants and answer at once; the inventory poll's reconciler does the backend's work
and moves the request through PENDING, PROGRESSING and FULFILLED (or FAILED); DELETE answers 202 and the request
shows DELETING until its resources are gone, then 404.
"""

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
from chalicelib.domain.provisioning import (
    REQUESTS_PATH,
    ProvisioningRequestData,
    ProvisioningRequestInfo,
    canonical_request_id,
)

if TYPE_CHECKING:  # views import the service when called: a cold start that serves other routes never loads it
    from chalicelib.services.provisioning import ProvisioningPorts

ITEM = f"{REQUESTS_PATH}/{{provisioningRequestId}}"
# What a GET answers besides the data: a client may send it back unchanged in a PUT (GET, modify, PUT).
_READ_ONLY = ("provisioningRequestReference", "status", "provisionedResourceSet")

blueprint = Blueprint(__name__)
router = Router(blueprint, tag="provisioning")


class ProvisioningRequestReplacement(ProvisioningRequestData):
    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)

    @model_validator(mode="after")
    def _known_fields(self) -> ProvisioningRequestReplacement:
        unknown = sorted(set(self.model_extra or {}) - set(_READ_ONLY))
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(unknown)}")
        return self


def _ports() -> ProvisioningPorts:
    return ports().provisioning_ports()


def _shown(record_info: dict[str, Any], status: int) -> Response:
    location = f"{REQUESTS_PATH}/{record_info['provisioningRequestId']}"
    return Response(body=record_info, status_code=status, headers={"Location": location,
                                                                    "Content-Type": "application/json"})


@router.route(REQUESTS_PATH, "GET", summary="List provisioning requests", scope=Scope.IMS_READ, query=ListQuery,
              response=ProvisioningRequestInfo, collection=True)
def list_provisioning_requests(query: ListQuery) -> Response:
    from chalicelib.services import provisioning as service
    from chalicelib.services.paging import ListRequest

    request = ListRequest(query.selection(), query.page_size(), query.parsed_filter(), query.marker(),
                          codec=marker_codec())
    return page_response(blueprint.current_request,
                         service.list_requests(ports().provisioning_store, request, current_access()))


@router.route(REQUESTS_PATH, "POST", summary="Request infrastructure from a template (201: provisioning starts)",
              scope=Scope.IMS_WRITE, body=ProvisioningRequestData, response=ProvisioningRequestInfo, status=201,
              responses=(400, 403, 409, 422))
def create_provisioning_request(body: ProvisioningRequestData) -> Response:
    from chalicelib.services import provisioning as service

    record = service.create_request(_ports(), body, current_access())
    return _shown(record.to_wire(), 201)


@router.route(ITEM, "GET", summary="One provisioning request", scope=Scope.IMS_READ, query=SelectorQuery,
              response=ProvisioningRequestInfo, responses=(400, 404))
def get_provisioning_request(provisioningRequestId: str, query: SelectorQuery) -> dict[str, Any]:
    from chalicelib.domain.provisioning import PROVISIONING_SELECTOR_SCHEMA
    from chalicelib.domain.selectors import apply_selection
    from chalicelib.services import provisioning as service

    record = service.get_request(ports().provisioning_store, canonical_request_id(provisioningRequestId),
                                 current_access())
    return apply_selection(record.to_wire(), query.selection(), PROVISIONING_SELECTOR_SCHEMA)


@router.route(ITEM, "PUT", summary="Replace a provisioning request (a new size, or a retry of a failed one)",
              scope=Scope.IMS_WRITE, body=ProvisioningRequestReplacement, response=ProvisioningRequestInfo,
              responses=(400, 404, 409, 422))
def replace_provisioning_request(provisioningRequestId: str, body: ProvisioningRequestReplacement) -> Response:
    from chalicelib.services import provisioning as service

    data = ProvisioningRequestData.model_validate(body.model_dump(by_alias=True, exclude=set(body.model_extra or {})))
    record = service.replace_request(_ports(), canonical_request_id(provisioningRequestId), data, current_access())
    return _shown(record.to_wire(), 200)


@router.route(ITEM, "DELETE", summary="Release what a provisioning request made (202: DELETING, then 404)",
              scope=Scope.IMS_WRITE, response=ProvisioningRequestInfo, status=202, responses=(400, 404, 409))
def delete_provisioning_request(provisioningRequestId: str) -> Response:
    from chalicelib.services import provisioning as service

    record = service.delete_request(_ports(), canonical_request_id(provisioningRequestId), current_access())
    return _shown(record.to_wire(), 202)
