"""What API Gateway answers by itself, applied locally from the very template deployed in `infra/`, and what the
local server answers for a method API Gateway would never pass to the function.

`chalice local` and `chalice.test.Client` answer an unknown path with 403 "Missing Authentication Token", as API
Gateway does before its gateway responses are configured; deployed, `infra/api-gateway.json` turns that into 404
ProblemDetails. Reading the same file here keeps local behaviour and deployment identical.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "api-gateway.json"
_MISSING_TOKEN_MARKERS = (b"Missing Authentication Token", b"Authorization header requires")


@cache
def gateway_response(response_type: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body API Gateway sends for `response_type`, as the infra template defines them (inside
    the API definition, where a redeploy cannot drop them)."""
    definition = json.loads(TEMPLATE.read_text())["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    responses: dict[str, Any] = definition["x-amazon-apigateway-gateway-responses"]
    if response_type not in responses:
        raise KeyError(f"no gateway response {response_type} in {TEMPLATE}")
    response = responses[response_type]
    headers = {
        key.removeprefix("gatewayresponse.header."): value.strip("'")
        for key, value in response.get("responseParameters", {}).items()
    }
    return int(response["statusCode"]), headers, response["responseTemplates"]["application/json"].encode()


def is_missing_route(status: int, body: bytes | None) -> bool:
    return status == 403 and any(marker in (body or b"") for marker in _MISSING_TOKEN_MARKERS)


def unknown_method_response(method: str, path: str, resource_paths: Iterable[str]) -> tuple[int, dict[str, str], bytes]:
    """The answer to a method no route of the API can have (TRACE, CONNECT, PROPFIND, ...): on a known path the 405
    ProblemDetails with `Allow` that `chalicelib/api/routing.py` gives every method a path does not serve (so an
    SMO sees one rule, whatever the verb), on an unknown path the gateway's 404, as for any method there."""
    from chalice.local import RouteMatcher

    from chalicelib.api import problems
    from chalicelib.api.routing import allowed_methods
    from chalicelib.domain.errors import MethodNotAllowed

    try:
        resource_path = RouteMatcher(list(resource_paths)).match_route(path).route
    except ValueError:
        return gateway_response("MISSING_AUTHENTICATION_TOKEN")
    # The verb is the client's own text: bounded before it is echoed in the detail.
    response = problems.from_error(MethodNotAllowed(method[:32], allowed_methods(resource_path))).to_dict()
    return response["statusCode"], dict(response["headers"]), response["body"].encode()
