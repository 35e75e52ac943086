"""The OpenAPI 3.1 document, generated from the route table and the pydantic models — never written by hand, so it
cannot drift from what the gateway serves."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib.api.routing import ROUTES, RouteSpec
from chalicelib.domain.models import ProblemDetails

_PATH_PARAM = re.compile(r"\{([^}]+)\}")
_ERROR_STATUSES = (400, 401, 403, 404, 405, 500)
_DESCRIPTIONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    400: "Bad request",
    401: "Missing or invalid token",
    403: "Token lacks the scope",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    500: "Internal error",
    501: "Not supported by the backend",
    503: "Not ready",
}


def served_routes() -> list[RouteSpec]:
    return [spec for spec in ROUTES.values() if not spec.extra.get("not_allowed")]


@lru_cache(maxsize=1)
def openapi_document(version: str = "1.0.0") -> dict[str, Any]:
    routes = served_routes()
    models = _models(routes)
    refs, schema = models_json_schema(
        [(model, "serialization" if _is_response(model, routes) else "validation") for model in models],
        by_alias=True,
        ref_template="#/components/schemas/{model}",
    )
    paths: dict[str, dict[str, Any]] = {}
    for spec in sorted(routes, key=lambda s: (s.path, s.method)):
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "netweave O2 gateway",
            "version": version,
            "description": "O-RAN O2-IMS (Inventory, Monitoring) and O2-DMS served by netweave.",
        },
        "paths": paths,
        "components": {
            "schemas": schema.get("$defs", {}),
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def _models(routes: list[RouteSpec]) -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {ProblemDetails.__name__: ProblemDetails}
    for spec in routes:
        for model in (spec.body, spec.response, *spec.alternatives):
            if model is not None:
                found[model.__name__] = model
    return list(found.values())


def _is_response(model: type[BaseModel], routes: list[RouteSpec]) -> bool:
    return model is ProblemDetails or any(spec.response is model for spec in routes)


def _operation(spec: RouteSpec, refs: dict[Any, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": spec.summary,
        "tags": [spec.tag],
        "operationId": f"{spec.method.lower()}_{_operation_name(spec.path)}",
        "parameters": _parameters(spec),
        "responses": _responses(spec, refs),
    }
    if spec.scope is not None:
        operation["security"] = [{"bearerAuth": [spec.scope.value]}]
    else:
        operation["security"] = []
    if spec.body is not None:
        mode_ref = refs[(spec.body, "serialization" if spec.body is spec.response else "validation")]
        if spec.alternatives:
            mode_ref = {"oneOf": [mode_ref, *(refs[(model, "validation")] for model in spec.alternatives)]}
        content = {"application/json": {"schema": mode_ref}}
        content.update({media: {"schema": schema} for media, schema in spec.other_bodies.items()})
        operation["requestBody"] = {"required": True, "content": content}
    return operation


def _operation_name(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_") or "root"


def _parameters(spec: RouteSpec) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAM.findall(spec.path)
    ]
    params.extend(spec.headers)
    if spec.query is not None:
        for name, field in spec.query.model_fields.items():
            params.append(
                {
                    "name": field.alias or name,
                    "in": "query",
                    "required": field.is_required(),
                    "schema": {"type": "string"},
                    "allowEmptyValue": True,
                }
            )
    return params


def _responses(spec: RouteSpec, refs: dict[Any, Any]) -> dict[str, Any]:
    problem = {"application/problem+json": {"schema": refs[(ProblemDetails, "serialization")]}}
    responses: dict[str, Any] = {}
    success: dict[str, Any] = {"description": _DESCRIPTIONS.get(spec.status, "OK")}
    if spec.response is not None:
        schema = refs[(spec.response, "serialization")]
        if spec.collection:
            schema = {"type": "array", "items": schema}
        success["content"] = {"application/json": {"schema": schema}}
    responses[str(spec.status)] = success
    # A public route answers no JWT 401/403; one that checks a credential of its own lists 401 in `responses`.
    statuses = (set(_ERROR_STATUSES) - ({401, 403} if spec.scope is None else set())) | set(spec.responses)
    for status in sorted(statuses):
        responses[str(status)] = {"description": _DESCRIPTIONS.get(status, "Error"), "content": problem}
    return responses
