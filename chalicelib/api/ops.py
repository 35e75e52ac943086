"""Operational endpoints: liveness, readiness, and the OpenAPI document. Open to all: probes carry no token."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api import problems
from chalicelib.api.ports import ports
from chalicelib.api.routing import Router
from chalicelib.domain.models import Health, Readiness

blueprint = Blueprint(__name__)
router = Router(blueprint, tag="operations")


@router.route("/health", "GET", summary="Liveness", scope=None, response=Health)
def health() -> dict[str, Any]:
    return Health(status="ok").to_wire()


@router.route(
    "/ready", "GET", summary="Readiness: DynamoDB and SQS reachable", scope=None, response=Readiness, responses=(503,)
)
def ready() -> Response | dict[str, Any]:
    from chalicelib.services.readiness import check_readiness  # views import the service when called

    report = check_readiness(ports().readiness_probes())
    if report.status == "ready":
        return report.to_wire()
    failed = ", ".join(check.name for check in report.checks if not check.ok)
    return problems.problem_response(
        503, f"not ready; unreachable: {failed}", slug="not-ready", members={"checks": report.to_wire()["checks"]}
    )


@router.route("/openapi.json", "GET", summary="This API's OpenAPI 3.1 document", scope=None)
def openapi() -> dict[str, Any]:
    from chalicelib.api.openapi import openapi_document  # pydantic's JSON-schema machinery: only this route pays

    return openapi_document()
