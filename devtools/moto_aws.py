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
- moto's EKS node groups are `ACTIVE` the moment they are created and gone the moment they are deleted, because
  nothing launches their nodes. On a cluster tagged `kubesim.netweave.io/node-controller: kubesim`, whose nodes
  kubesim's node-group controller plays (devtools/kubesim/controllers/nodegroups.py), a node group goes through
  EKS's states instead: `CREATING` on creation, `UPDATING` on a scaling change, `DELETING` on deletion, each until
  the controller reports the nodes joined or gone on `POST /moto-api/netweave/nodegroup-status`; as in EKS, a node
  group that is not `ACTIVE` refuses a configuration update (ResourceInUseException). `POST
  /moto-api/netweave/cluster-endpoint` points such a cluster's endpoint and CA at the simulated API server.
Also, like every AWS account, it has the AWS managed IAM policies (`MOTO_IAM_LOAD_MANAGED_POLICIES`): the guide
attaches `AmazonAPIGatewayPushToCloudWatchLogs`. Nothing else differs from plain `moto_server`: every refusal moto
copies from AWS stays a refusal. One change is speed only (`patch_sqs_scans`): moto's SQS answers what it answered,
in a fraction of the CPU time once hundreds of messages wait in a queue.
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
    patch_nodegroup_lifecycle()
    patch_sqs_scans()


def patch_sqs_scans() -> None:
    """moto's SQS builds every queue attribute (three scans of all its messages, reading the clock through two
    datetimes per message and converting each attribute's name character by character) about six times per message
    it sends or receives, if only to read `MessageRetentionPeriod` or `ContentBasedDeduplication`. With a first
    poll's ~800 events queued, publishing them took minutes of CPU and each fan-out batch a second: the local stack's
    start and fan-out crawled. The answers stay moto's: each scan reads the clock once, through `time.time()` (what
    moto computes from the datetimes, seconds since the epoch); a name is converted once; the retention period is
    read from the queue's own field."""
    import functools
    import time

    from moto.core.utils import camelcase_to_underscores
    from moto.core.utils import unix_time as original_time
    from moto.core.utils import unix_time_millis as original_millis
    from moto.sqs import models

    def unix_time(dt: Any = None) -> float:
        return time.time() if dt is None else original_time(dt)

    def unix_time_millis(dt: Any = None) -> float:
        return time.time() * 1000.0 if dt is None else original_millis(dt)

    def messages(queue: Any) -> list[Any]:  # Message.visible and not Message.delayed, at one instant
        now = unix_time_millis()
        return [m for m in queue._messages if now > m.visible_at and not now < m.delayed_until]

    def not_visible(queue: Any) -> int:
        now = unix_time_millis()
        return sum(1 for m in queue._messages if not now > m.visible_at)

    def delayed(queue: Any) -> int:
        now = unix_time_millis()
        return sum(1 for m in queue._messages if now < m.delayed_until)

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)
        return bool(retention + message.sent_timestamp / 1000 > unix_time())

    # moto.sqs.models imported these names from moto.core.utils: replaced there only, for SQS alone
    models.unix_time, models.unix_time_millis = unix_time, unix_time_millis  # type: ignore[attr-defined]
    models.camelcase_to_underscores = functools.lru_cache(maxsize=256)(camelcase_to_underscores)  # type: ignore[attr-defined]
    queue = models.Queue
    queue.messages = property(messages)  # type: ignore[assignment,method-assign]
    queue.approximate_number_of_messages_not_visible = property(not_visible)  # type: ignore[assignment,method-assign]
    queue.approximate_number_of_messages_delayed = property(delayed)  # type: ignore[assignment,method-assign]
    models.SQSBackend.is_message_valid_based_on_retention_period = (  # type: ignore[method-assign]
        is_message_valid_based_on_retention_period)


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


CONTROLLER_TAG = "kubesim.netweave.io/node-controller"  # on an EKS cluster whose nodes kubesim plays
_NODEGROUP_STATUS_PATH = "/moto-api/netweave/nodegroup-status"
_CLUSTER_ENDPOINT_PATH = "/moto-api/netweave/cluster-endpoint"


def _controlled(backend: Any, cluster_name: str) -> bool:
    cluster = backend.clusters.get(cluster_name)
    return cluster is not None and cluster.tags.get(CONTROLLER_TAG) == "kubesim"


def patch_nodegroup_lifecycle() -> None:
    """EKS's node group states on clusters kubesim plays (module docstring). Idempotent."""
    from moto.eks import exceptions, models
    from moto.moto_api._internal import urls

    backend = models.EKSBackend
    if getattr(backend, "_netweave_lifecycle", False):
        return
    backend._netweave_lifecycle = True  # type: ignore[attr-defined]
    create, update, delete = backend.create_nodegroup, backend.update_nodegroup_config, backend.delete_nodegroup

    def create_nodegroup(self: Any, cluster_name: str, *args: Any, **kwargs: Any) -> Any:
        group = create(self, cluster_name, *args, **kwargs)
        if _controlled(self, cluster_name):
            group.status = "CREATING"
        return group

    def update_nodegroup_config(self: Any, cluster_name: str, nodegroup_name: str, *args: Any, **kwargs: Any) -> Any:
        group = self.clusters.get(cluster_name) and self.clusters[cluster_name].nodegroups.get(nodegroup_name)
        if group and _controlled(self, cluster_name) and group.status != "ACTIVE":
            raise exceptions.ResourceInUseException(
                clusterName=cluster_name, nodegroupName=nodegroup_name, addonName=None,
                message=f"Nodegroup cannot be updated as it is currently not in Active State ({group.status})")
        result = update(self, cluster_name, nodegroup_name, *args, **kwargs)
        if group and _controlled(self, cluster_name) and kwargs.get("scaling_config"):
            group.status = "UPDATING"
        return result

    def delete_nodegroup(self: Any, cluster_name: str, nodegroup_name: str) -> Any:
        if not _controlled(self, cluster_name) or nodegroup_name not in self.clusters[cluster_name].nodegroups:
            return delete(self, cluster_name, nodegroup_name)
        group = self.clusters[cluster_name].nodegroups[nodegroup_name]
        group.status = "DELETING"  # listed until the controller reports its nodes gone
        return group

    backend.create_nodegroup = create_nodegroup  # type: ignore[method-assign]
    backend.update_nodegroup_config = update_nodegroup_config  # type: ignore[method-assign]
    backend.delete_nodegroup = delete_nodegroup  # type: ignore[method-assign]
    urls.url_paths["{0}" + _NODEGROUP_STATUS_PATH] = _nodegroup_status
    urls.url_paths["{0}" + _CLUSTER_ENDPOINT_PATH] = _cluster_endpoint


def _eks_cluster(body: dict[str, Any]) -> Any:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.eks.models import eks_backends

    backend = eks_backends[body.get("account") or DEFAULT_ACCOUNT_ID][body["region"]]
    return backend.clusters.get(body["cluster"])


def _nodegroup_status(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    """The controller's report: `{region, cluster, nodegroup, status}`; status `DELETED` removes the node group."""
    import json

    body = json.loads(request.data or b"{}")
    cluster = _eks_cluster(body)
    group = cluster.nodegroups.get(body["nodegroup"]) if cluster else None
    if group is None:
        return 404, {}, json.dumps({"message": "no such node group"})
    if body["status"] == "DELETED":
        cluster.nodegroups.pop(body["nodegroup"])
        cluster.nodegroup_count -= 1
    else:
        group.status = body["status"]
        group.health = {"issues": body.get("issues", [])}
    return 200, {}, json.dumps({"status": body["status"]})


def _cluster_endpoint(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    """`{region, cluster, endpoint, certificateAuthority}`: the cluster's API server is the simulated one."""
    import json

    body = json.loads(request.data or b"{}")
    cluster = _eks_cluster(body)
    if cluster is None:
        return 404, {}, json.dumps({"message": "no such cluster"})
    cluster.endpoint = body["endpoint"]
    cluster.certificate_authority = {"data": body.get("certificateAuthority", "")}
    return 200, {}, json.dumps({"endpoint": cluster.endpoint})


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
