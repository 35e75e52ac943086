"""What API Gateway answers by itself, applied locally from the very template deployed in `infra/`.

`chalice local` and `chalice.test.Client` answer an unknown path with 403 "Missing Authentication Token", as API
Gateway does before its gateway responses are configured; deployed, `infra/api-gateway.json` turns that into 404
ProblemDetails. Reading the same file here keeps local behaviour and deployment identical.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "api-gateway.json"
_MISSING_TOKEN_MARKERS = (b"Missing Authentication Token", b"Authorization header requires")


@cache
def gateway_response(response_type: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body API Gateway sends for `response_type`, as the infra template defines them."""
    resources: dict[str, Any] = json.loads(TEMPLATE.read_text())["Resources"]
    for resource in resources.values():
        props = resource.get("Properties", {})
        if resource.get("Type") == "AWS::ApiGateway::GatewayResponse" and props.get("ResponseType") == response_type:
            headers = {
                key.removeprefix("gatewayresponse.header."): value.strip("'")
                for key, value in props.get("ResponseParameters", {}).items()
            }
            body = props["ResponseTemplates"]["application/json"].encode()
            return int(props["StatusCode"]), headers, body
    raise KeyError(f"no gateway response {response_type} in {TEMPLATE}")


def is_missing_route(status: int, body: bytes | None) -> bool:
    return status == 403 and any(marker in (body or b"") for marker in _MISSING_TOKEN_MARKERS)
