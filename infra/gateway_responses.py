"""`infra/api-gateway.json`: what API Gateway answers by itself (unknown path, 401/403, 413, 415, 429, 5xx), as
ProblemDetails.

    python -m infra.generate --api-gateway > infra/api-gateway.json  # after changing GATEWAY_PROBLEMS

The file is merged into Chalice's SAM template by `chalice package --merge-template`, served by the local stack
(`devtools/localstack/gateway.py`), and put by `python -m infra.post_deploy` (`gateway_response_requests()`) after a
`chalice deploy`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Json = dict[str, Any]

API_GATEWAY_PATH = Path(__file__).resolve().parent / "api-gateway.json"
PROBLEM_TYPE_BASE = "https://netweave.io/problems/"  # chalicelib/api/problems.py's, so clients see one vocabulary


@dataclass(frozen=True)
class GatewayProblem:
    response_type: str
    status: int
    title: str
    detail: str
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def slug(self) -> str:
        return self.title.lower().replace(" ", "-")


# Every response type API Gateway documents (supported-gateway-response-types), each with the status an SMO must see.
# A type not listed falls back to DEFAULT_4XX / DEFAULT_5XX. Setting a status on those fallbacks changes the status of
# every type not customised to it, so every 4xx type is listed with its own status and DEFAULT_4XX only catches types
# AWS adds later (as 400, so a body never states another status than the response). The 5xx types not listed
# (API_CONFIGURATION_ERROR, AUTHORIZER_*) answer 502: the gateway could not get an answer from the function.
GATEWAY_PROBLEMS: tuple[GatewayProblem, ...] = (
    # API Gateway answers an unknown path (or a known path with a method it does not route) with
    # MISSING_AUTHENTICATION_TOKEN (403); the SMO must see a 404.
    GatewayProblem("MISSING_AUTHENTICATION_TOKEN", 404, "Not Found", "there is no resource at this path"),
    GatewayProblem("RESOURCE_NOT_FOUND", 404, "Not Found", "there is no resource at this path"),
    GatewayProblem("UNAUTHORIZED", 401, "Unauthorized", "a valid bearer token is required",
                   (("WWW-Authenticate", 'Bearer realm="netweave"'),)),
    GatewayProblem("ACCESS_DENIED", 403, "Forbidden", "the caller is not allowed to make this request"),
    GatewayProblem("EXPIRED_TOKEN", 403, "Forbidden", "the request's AWS credentials have expired"),
    GatewayProblem("INVALID_SIGNATURE", 403, "Forbidden", "the request's AWS signature is invalid"),
    GatewayProblem("INVALID_API_KEY", 403, "Forbidden", "the API key is missing or invalid"),
    GatewayProblem("WAF_FILTERED", 403, "Forbidden", "the request was blocked by the web application firewall"),
    GatewayProblem("BAD_REQUEST_PARAMETERS", 400, "Bad Request", "the request parameters are invalid"),
    GatewayProblem("BAD_REQUEST_BODY", 400, "Bad Request", "the request body is invalid"),
    GatewayProblem("UNSUPPORTED_MEDIA_TYPE", 415, "Unsupported Media Type", "this content type is not accepted"),
    GatewayProblem("REQUEST_TOO_LARGE", 413, "Content Too Large", "the request exceeds the gateway's size limit"),
    GatewayProblem("THROTTLED", 429, "Too Many Requests", "request rate exceeded; retry later"),
    GatewayProblem("QUOTA_EXCEEDED", 429, "Too Many Requests", "request quota exceeded; retry later"),
    GatewayProblem("DEFAULT_4XX", 400, "Bad Request", "the gateway refused the request"),
    GatewayProblem("INTEGRATION_FAILURE", 502, "Bad Gateway", "the API function failed to answer"),
    GatewayProblem("INTEGRATION_TIMEOUT", 504, "Gateway Timeout", "the API function did not answer in time"),
    GatewayProblem("DEFAULT_5XX", 502, "Bad Gateway", "the gateway could not get an answer from the API function"),
)
# Chalice's logical id of the REST API (an AWS::Serverless::Api) in the template `chalice package` writes.
CHALICE_REST_API = "RestAPI"
# The OpenAPI extension that defines gateway responses inside the API definition itself. Separate
# AWS::ApiGateway::GatewayResponse resources do not survive: every update of the API's definition (SAM's
# DefinitionBody, `chalice deploy`'s put_rest_api) re-imports it in overwrite mode, which resets every gateway
# response the definition does not contain (aws/serverless-application-model#390, #623).
GATEWAY_RESPONSES_EXTENSION = "x-amazon-apigateway-gateway-responses"


def gateway_response(problem: GatewayProblem) -> Json:
    """One `x-amazon-apigateway-gateway-responses` entry (the keys of `apigateway.put_gateway_response`)."""
    body = {"type": PROBLEM_TYPE_BASE + problem.slug, "title": problem.title, "status": problem.status,
            "detail": problem.detail}
    headers = (("Content-Type", "application/problem+json"), *problem.headers)
    return {
        "statusCode": str(problem.status),
        "responseParameters": {f"gatewayresponse.header.{name}": f"'{value}'" for name, value in headers},
        # The local stack (devtools/localstack/gateway.py) serves this very body: plain JSON (API Gateway does not
        # run gateway response templates through VTL anyway).
        "responseTemplates": {"application/json": json.dumps(body)},
    }


def build_api_gateway_template() -> Json:
    """What `chalice package --merge-template infra/api-gateway.json` deep-merges into Chalice's SAM template: the
    gateway responses, into the REST API's own definition, so every deployment of the API carries them."""
    return {
        "Resources": {
            CHALICE_REST_API: {
                "Properties": {
                    "DefinitionBody": {
                        GATEWAY_RESPONSES_EXTENSION: {
                            problem.response_type: gateway_response(problem) for problem in GATEWAY_PROBLEMS
                        }
                    }
                }
            }
        }
    }


def gateway_responses(path: Path = API_GATEWAY_PATH) -> dict[str, Json]:
    """The committed gateway responses: response type -> {statusCode, responseParameters, responseTemplates}."""
    template: Json = json.loads(path.read_text())
    responses: dict[str, Json] = template["Resources"][CHALICE_REST_API]["Properties"]["DefinitionBody"][
        GATEWAY_RESPONSES_EXTENSION]
    return responses


def gateway_response_requests(path: Path = API_GATEWAY_PATH) -> list[Json]:
    """The committed gateway responses as keyword arguments of boto3's `apigateway.put_gateway_response` (without
    `restApiId`), for a REST API `chalice deploy` created: its put_rest_api drops them on every deploy, so they are
    put again after each one, followed by a `create_deployment` of the stage (they apply from the next deployment)."""
    return [{"responseType": response_type, **response} for response_type, response in gateway_responses(path).items()]


def render_api_gateway() -> str:
    return json.dumps(build_api_gateway_template(), indent=2) + "\n"

