"""A moto server that accepts what AWS accepts from `chalice deploy`: the deploy rehearsal's stand-in for an account.

    python -m devtools.moto_aws --port 5000

moto 5 refuses two things AWS accepts, and drops one thing AWS applies, when Chalice creates its REST API:
- `ImportRestApi`/`PutRestApi` with a Swagger 2.0 document: moto implements OpenAPI 3 only and answers
  "Only OpenAPI 3.x.x are currently supported", while API Gateway imports both, and Chalice sends Swagger 2.0. The
  parts moto reads (`paths`, methods, their responses and `x-amazon-apigateway-integration`) have the same form in
  both, so the document is handed on as OpenAPI 3 unchanged otherwise;
- `ImportRestApi` of a document without `info.description` fails inside moto (KeyError, HTTP 500); the field is
  optional for API Gateway;
- `x-amazon-apigateway-binary-media-types` of an imported document, which API Gateway applies to the REST API, is
  ignored by moto; without it nobody could check that the archive media types reach the API as binary.
- a stack created or updated by executing a change set (what `aws cloudformation deploy` does) keeps the outputs of
  the template it had before (none, for a new stack) in moto; AWS shows the new template's outputs, which
  `infra.stack_outputs` reads.
- a deployment to an existing stage replaces moto's whole stage, dropping its throttling, access log and method
  settings; API Gateway keeps a stage's settings and only points it at the new deployment, which is why
  `infra.post_deploy` after a second `chalice deploy` has nothing to change.
- moto runs a function's code only in Docker, which a rehearsal machine need not have: an invoke of the stage's
  `poll_inventory` or `poll_deployments` (what `infra.post_deploy` does once per deploy) answers what those handlers
  answer for a site with nothing new (their code is run for real by the functional tests); every other invoke is
  moto's own.
Also, like every AWS account, it has the AWS managed IAM policies (`MOTO_IAM_LOAD_MANAGED_POLICIES`): the guide
attaches `AmazonAPIGatewayPushToCloudWatchLogs`. Nothing else differs from plain `moto_server`: every refusal moto
copies from AWS stays a refusal.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

_BINARY_TYPES = "x-amazon-apigateway-binary-media-types"


def _as_openapi3(document: dict[str, Any]) -> dict[str, Any]:
    if document.get("swagger") != "2.0":
        return document
    converted = {key: value for key, value in document.items() if key != "swagger"}
    converted["openapi"] = "3.0.1"
    return converted


def patch_moto() -> None:
    from moto.apigateway import models

    backend = models.APIGatewayBackend
    original_import, original_put = backend.import_rest_api, backend.put_rest_api

    def import_rest_api(self: Any, api_doc: dict[str, Any], fail_on_warnings: bool) -> Any:
        document = _as_openapi3(api_doc)
        document["info"] = {"description": "", **document.get("info", {})}
        api = original_import(self, document, fail_on_warnings)
        api.binaryMediaTypes = list(document.get(_BINARY_TYPES, []))
        return api

    def put_rest_api(self: Any, function_id: str, api_doc: dict[str, Any], fail_on_warnings: bool,
                     mode: str = "merge") -> Any:
        document = _as_openapi3(api_doc)
        api = original_put(self, function_id, document, fail_on_warnings, mode)
        if _BINARY_TYPES in document:
            api.binaryMediaTypes = list(document[_BINARY_TYPES])
        return api

    backend.import_rest_api = import_rest_api  # type: ignore[method-assign]
    backend.put_rest_api = put_rest_api  # type: ignore[method-assign]
    _patch_change_set_outputs()
    _patch_redeployment()
    _patch_poll_invokes()


# What the poll handlers answer when the site has not changed (chalicelib/handlers: inventory.scheduled_poll,
# dms.scheduled_deployment_poll); infra/post_deploy_plan.py's first_poll_outcome reads them as "unchanged".
_POLL_ANSWERS: dict[str, Any] = {
    "-poll_inventory": [{"backend": "rehearsal", "status": "unchanged", "objects": 0}],
    "-poll_deployments": {"checked": 0, "changed": 0, "unreachable": [], "failed": [], "resubmitted": 0},
}


def _patch_poll_invokes() -> None:
    import json

    from moto.awslambda import models

    original = models.LambdaBackend.invoke

    def invoke(self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any,
               response_headers: Any) -> Any:
        name = function_name.rsplit(":function:", 1)[-1].split(":", 1)[0]
        for suffix, answer in _POLL_ANSWERS.items():
            if name.endswith(suffix):
                self.get_function(function_name, qualifier)  # an unknown function stays moto's 404
                payload = json.dumps(answer)
                response_headers["Content-Length"] = str(len(payload))
                return payload
        return original(self, function_name, qualifier, body, headers, response_headers)

    models.LambdaBackend.invoke = invoke  # type: ignore[method-assign]


def _patch_redeployment() -> None:
    from moto.apigateway import models

    original = models.RestAPI.create_deployment

    def create_deployment(self: Any, name: str, description: str, stage_variables: Any = None) -> Any:
        kept = self.stages.get(name) if name else None
        deployment = original(self, name, description, stage_variables)
        if kept is not None:
            kept.deployment_id = deployment.id
            if stage_variables:
                kept.variables = stage_variables
            self.stages[name] = kept
        return deployment

    models.RestAPI.create_deployment = create_deployment  # type: ignore[method-assign]


def _patch_change_set_outputs() -> None:
    from moto.cloudformation import models

    original_apply = models.ChangeSet.apply

    def apply(self: Any) -> None:
        original_apply(self)
        stack = self.stack
        stack.template = self.template
        stack.template_dict = self.template_dict
        stack.output_map = stack._create_output_map()

    models.ChangeSet.apply = apply  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="moto server with the API Gateway import AWS has")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args(argv)
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"  # read by moto when its IAM backend starts
    patch_moto()
    from moto.server import main as moto_main

    moto_main(["-H", args.host, "-p", str(args.port)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
