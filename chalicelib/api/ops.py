"""Operational endpoints: liveness, readiness, the OpenAPI document, and the Redfish event receiver. Open to all:
probes carry no token; /ready names what it checked only to an operator's token; BMCs cannot mint JWTs, so events
carry the shared token of their subscription instead (services/redfish_events.py)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api import auth, problems
from chalicelib.api.ports import ports
from chalicelib.api.routing import Router
from chalicelib.domain.auth import Scope
from chalicelib.domain.models import Health, Readiness
from chalicelib.domain.redfish_events import RECEIVER_PATH, TOKEN_HEADER, RedfishEvent
from chalicelib.services import redfish_events

blueprint = Blueprint(__name__)
router = Router(blueprint, tag="operations")


@router.route("/health", "GET", summary="Liveness", scope=None, response=Health)
def health() -> dict[str, Any]:
    return Health(status="ok").to_wire()


@router.route(
    "/ready", "GET",
    summary="Readiness: DynamoDB and SQS reachable and an inventory snapshot stored; the checks only with the "
            "netweave:operate scope",
    scope=None, response=Readiness, responses=(503,)
)
def ready() -> Response | dict[str, Any]:
    """Without a token (a load balancer's or orchestrator's probe) only the verdict: no table or queue names. A token
    carrying `netweave:operate` also gets every check; any other valid token gets the verdict; an invalid one 401.
    The report comes from this container's cache (`limits.ready_cache_seconds`)."""
    detailed = _operator()  # first: an invalid token is refused before any probe runs
    report = ports().readiness_cache.report()
    if report.status == "ready":
        return report.to_wire() if detailed else {"status": "ready"}
    if not detailed:
        return problems.problem_response(503, "not ready", slug="not-ready")
    failed = "; ".join(f"{check.name}: {check.detail}" for check in report.checks or [] if not check.ok)
    return problems.problem_response(
        503, f"not ready; {failed}", slug="not-ready", members={"checks": report.to_wire()["checks"]}
    )


def _operator() -> bool:
    headers = blueprint.current_request.headers
    if not headers.get("authorization"):
        return False
    return auth.authenticate(auth.bearer_token(headers)).has(Scope.OPERATE)


@router.route("/openapi.json", "GET", summary="This API's OpenAPI 3.1 document", scope=None)
def openapi() -> dict[str, Any]:
    from chalicelib.api.openapi import openapi_document  # pydantic's JSON-schema machinery: only this route pays

    return openapi_document()


@router.raw_route(
    f"{RECEIVER_PATH}{{backendId}}", "POST",
    summary="Receive a Redfish Event from a BMC subscribed by a `redfish` backend: asks for an immediate poll of "
            "that backend. Authenticated by the subscription's shared token, not a JWT",
    scope=None, content_types=["application/json"], body=RedfishEvent, status=204,
    responses=(401, 413, 415, 503),
    headers=({"name": TOKEN_HEADER, "in": "header", "required": True, "schema": {"type": "string"},
              "description": "the shared token the subscription's HttpHeaders carry"},),
)
def redfish_event(backendId: str) -> Response:
    request = blueprint.current_request
    redfish_events.receive_event(backendId, request.headers.get(TOKEN_HEADER), request.raw_body or b"", ports())
    return Response(body="", status_code=204)
