"""Settings `chalice deploy` does not manage; run after every deploy of a stage:

    python -m infra.post_deploy --stage prod [--dry-run]

(a) Every SQS event source mapping of the stage's functions gets `FunctionResponseTypes=["ReportBatchItemFailures"]`.
    The handlers answer `{"batchItemFailures": [...]}`; without this setting Lambda ignores that answer and deletes the
    whole batch, failed messages included. Chalice keeps the setting on redeploy but drops it when it recreates a
    mapping, hence "after every deploy".
(b) The API Gateway stage: the gateway responses of infra/api-gateway.json (ProblemDetails; the stage is redeployed when
    they change), stage-wide throttling, JSON access logs to a CloudWatch log group (created if missing, with
    retention), optionally detailed metrics and execution logging.
(c) A summary; exit status 1 if anything could not be set (or, with --dry-run, is known to be impossible).

The `plan_*`, `*_ops` and `*_changes` functions decide from describe results and do no I/O; the `fix_*` functions
make the calls. Idempotent: a second run reports everything "unchanged".
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

from chalicelib import resources

APP_NAME = "netweave"
DESCRIPTION = "Set what `chalice deploy` does not: ReportBatchItemFailures on SQS event sources, API stage edges."
PROJECT_DIR = Path(__file__).resolve().parent.parent
REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"
STAGE_WIDE = "*/*"  # the methodSettings key API Gateway uses for stage-wide settings (patch paths /*/*/...)
# Rate and burst: see docs/deploy-aws.md "Edge protection". Far below the account's regional default (10,000 rps,
# 5,000 burst, shared by every API of the account), so a runaway client cannot starve other APIs or drive the
# API function past its reserved concurrency (rate x p99 latency must stay below it).
DEFAULT_RATE_LIMIT = 50.0
DEFAULT_BURST_LIMIT = 100
DEFAULT_RETENTION_DAYS = 90
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
                  3653)  # the values CloudWatch Logs accepts
LOGGING_LEVELS = ("OFF", "ERROR", "INFO")
# One JSON object per request. `caller` is only set for IAM-signed calls; with mTLS an SMO is identified by its
# certificate (`clientCertSubject`); the API function's own request log line has the same requestId (unless the SMO
# sends X-Request-Id). No headers, no query strings, no bodies.
ACCESS_LOG_FORMAT = json.dumps({
    "requestId": "$context.requestId", "extendedRequestId": "$context.extendedRequestId",
    "requestTime": "$context.requestTime", "ip": "$context.identity.sourceIp", "caller": "$context.identity.caller",
    "userAgent": "$context.identity.userAgent", "clientCertSubject": "$context.identity.clientCert.subjectDN",
    "domainName": "$context.domainName", "httpMethod": "$context.httpMethod", "route": "$context.resourcePath",
    "path": "$context.path", "status": "$context.status", "latency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency", "responseLength": "$context.responseLength",
    "errorType": "$context.error.responseType",
}, separators=(",", ":"))

Status = Literal["changed", "unchanged", "would change", "failed"]
STATUSES: tuple[Status, ...] = ("changed", "unchanged", "would change", "failed")
PatchOp = dict[str, str]


@dataclass(frozen=True)
class Outcome:
    item: str
    status: Status
    detail: str = ""

    def line(self) -> str:
        return f"{self.item}: {self.status}" + (f" ({self.detail})" if self.detail else "")


# ---------------------------------------------------------------- decisions: event source mappings


def stage_queue_names(stage: str) -> set[str]:
    """Every queue of the stage, DLQs included, by physical name."""
    return {resources.queue_name(stage, q, dead) for q in resources.QUEUES for dead in (False, True)}


def function_prefix(stage: str) -> str:
    return f"{APP_NAME}-{stage}-"  # Chalice names a non-API function <app>-<stage>-<name>


@dataclass(frozen=True)
class MappingDecision:
    function: str
    queue: str
    uuid: str
    current: tuple[str, ...]

    @property
    def needs_update(self) -> bool:
        return REPORT_BATCH_ITEM_FAILURES not in self.current

    @property
    def target(self) -> list[str]:
        return sorted({*self.current, REPORT_BATCH_ITEM_FAILURES})

    @property
    def item(self) -> str:
        return f"mapping {self.function} <- {self.queue} [{self.uuid}]"


@dataclass
class MappingPlan:
    decisions: list[MappingDecision] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def plan_mappings(stage: str, functions: Sequence[Mapping[str, Any]],
                  mappings: Mapping[str, Sequence[Mapping[str, Any]]]) -> MappingPlan:
    """`functions`: ListFunctions entries; `mappings`: ListEventSourceMappings entries per FunctionName."""
    plan = MappingPlan()
    queues = stage_queue_names(stage)
    prefix = function_prefix(stage)
    for function in sorted(f["FunctionName"] for f in functions if f["FunctionName"].startswith(prefix)):
        for mapping in mappings.get(function, ()):
            arn = str(mapping.get("EventSourceArn", ""))
            if not arn.startswith("arn:") or arn.split(":")[2] != "sqs":
                continue
            queue = arn.rsplit(":", 1)[-1]
            if queue not in queues:
                plan.problems.append(f"{function} consumes {queue}, not a queue of stage {stage!r}: deploy with "
                                     f"NETWEAVE_STAGE={stage} chalice deploy --stage {stage}")
                continue
            plan.decisions.append(MappingDecision(function, queue, str(mapping["UUID"]),
                                                  tuple(mapping.get("FunctionResponseTypes") or ())))
    consumed = {d.queue for d in plan.decisions}
    for queue in sorted(resources.queue_name(stage, q) for q in resources.QUEUES):
        if queue not in consumed:
            plan.problems.append(f"no event source mapping of a {function_prefix(stage)}* function consumes {queue} "
                                 f"(has `chalice deploy --stage {stage}` run?)")
    return plan


# ---------------------------------------------------------------- decisions: API Gateway stage and log group


@dataclass(frozen=True)
class EdgeSettings:
    rate_limit: float = DEFAULT_RATE_LIMIT
    burst_limit: int = DEFAULT_BURST_LIMIT
    log_group: str = ""
    retention_days: int = DEFAULT_RETENTION_DAYS
    detailed_metrics: bool | None = None  # None: leave as it is
    execution_logging: str | None = None  # OFF/ERROR/INFO; None: leave as it is


def default_log_group(stage: str) -> str:
    return f"/aws/apigateway/{APP_NAME}-{stage}/access"


def _stage_wide(stage_desc: Mapping[str, Any]) -> Mapping[str, Any]:
    settings: Mapping[str, Any] = (stage_desc.get("methodSettings") or {}).get(STAGE_WIDE) or {}
    return settings


def _number(value: float) -> str:
    return f"{value:g}"


def throttling_ops(stage_desc: Mapping[str, Any], settings: EdgeSettings) -> list[PatchOp]:
    current = _stage_wide(stage_desc)
    ops = []
    if current.get("throttlingRateLimit") is None or float(current["throttlingRateLimit"]) != settings.rate_limit:
        ops.append(_replace("/*/*/throttling/rateLimit", _number(settings.rate_limit)))
    if current.get("throttlingBurstLimit") is None or int(current["throttlingBurstLimit"]) != settings.burst_limit:
        ops.append(_replace("/*/*/throttling/burstLimit", str(settings.burst_limit)))
    return ops


def access_log_ops(stage_desc: Mapping[str, Any], destination_arn: str) -> list[PatchOp]:
    current = stage_desc.get("accessLogSettings") or {}
    ops = []
    if str(current.get("destinationArn", "")).removesuffix(":*") != destination_arn:
        ops.append(_replace("/accessLogSettings/destinationArn", destination_arn))
    if current.get("format") != ACCESS_LOG_FORMAT:
        ops.append(_replace("/accessLogSettings/format", ACCESS_LOG_FORMAT))
    return ops


def metrics_ops(stage_desc: Mapping[str, Any], settings: EdgeSettings) -> list[PatchOp]:
    enabled = bool(_stage_wide(stage_desc).get("metricsEnabled", False))
    if settings.detailed_metrics is None or enabled == settings.detailed_metrics:
        return []
    return [_replace("/*/*/metrics/enabled", str(settings.detailed_metrics).lower())]


def execution_logging_ops(stage_desc: Mapping[str, Any], settings: EdgeSettings) -> list[PatchOp]:
    current = _stage_wide(stage_desc)
    ops = []
    if settings.execution_logging is not None:
        if current.get("loggingLevel", "OFF") != settings.execution_logging:
            ops.append(_replace("/*/*/logging/loglevel", settings.execution_logging))
        if current.get("dataTraceEnabled", False):  # full requests in the logs: tokens and chart uploads. Never.
            ops.append(_replace("/*/*/logging/dataTrace", "false"))
    return ops


def _replace(path: str, value: str) -> PatchOp:
    return {"op": "replace", "path": path, "value": value}


LogGroupAction = Literal["create", "set retention", "ok"]


def gateway_response_changes(current: Sequence[Mapping[str, Any]],
                             wanted: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The `put_gateway_response` requests (infra/api-gateway.json) whose response GetGatewayResponses shows
    otherwise. Chalice's `put_rest_api` (mode overwrite) may reset them on every deploy; this puts them back."""
    def shape(response: Mapping[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
        return (str(response.get("statusCode", "")), dict(response.get("responseParameters") or {}),
                dict(response.get("responseTemplates") or {}))

    have = {str(r.get("responseType")): shape(r) for r in current}
    return [w for w in wanted if have.get(str(w["responseType"])) != shape(w)]


def plan_log_group(groups: Sequence[Mapping[str, Any]], name: str, retention_days: int) -> LogGroupAction:
    """`groups`: DescribeLogGroups(logGroupNamePrefix=name) entries (a prefix match: the exact name is looked up)."""
    group = next((g for g in groups if g.get("logGroupName") == name), None)
    if group is None:
        return "create"
    return "ok" if group.get("retentionInDays") == retention_days else "set retention"


def log_group_arn(group: Mapping[str, Any]) -> str:
    """The ARN access log settings want: without the trailing `:*` DescribeLogGroups puts on `arn`."""
    return str(group.get("logGroupArn") or str(group["arn"]).removesuffix(":*"))


def logging_blocker(account: Mapping[str, Any]) -> str | None:
    """API Gateway refuses access and execution logging until the account (per region) names a CloudWatch role."""
    if account.get("cloudwatchRoleArn"):
        return None
    return ("API Gateway has no CloudWatch Logs role in this account and region: create one with the managed policy "
            "AmazonAPIGatewayPushToCloudWatchLogs and pass --cloudwatch-role-arn, or see docs/deploy-aws.md")


def rest_api_id_from_deployed(deployed: Mapping[str, Any]) -> str | None:
    """The REST API id from Chalice's `.chalice/deployed/<stage>.json`."""
    for resource in deployed.get("resources", ()):
        if resource.get("resource_type") == "rest_api" and resource.get("rest_api_id"):
            return str(resource["rest_api_id"])
    return None


def api_gateway_stage_name(chalice_config: Mapping[str, Any], stage: str) -> str:
    """`api_gateway_stage` of the Chalice stage, else of the file, else Chalice's default `api`."""
    per_stage = (chalice_config.get("stages") or {}).get(stage) or {}
    return str(per_stage.get("api_gateway_stage") or chalice_config.get("api_gateway_stage") or "api")


def summarize(outcomes: Sequence[Outcome]) -> tuple[str, int]:
    counts = {status: sum(o.status == status for o in outcomes) for status in STATUSES}
    text = "summary: " + ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        text += "\nnot set:\n" + "\n".join(f"  - {o.item}: {o.detail}" for o in failed)
    return text, 1 if failed else 0


# ---------------------------------------------------------------- I/O


@dataclass
class Clients:
    lambda_: Any
    apigateway: Any
    logs: Any


@dataclass
class Run:
    stage: str
    dry_run: bool
    settings: EdgeSettings
    clients: Clients
    out: TextIO
    rest_api_id: str | None = None
    api_stage: str | None = None
    project_dir: Path = PROJECT_DIR
    cloudwatch_role_arn: str | None = None
    wait_seconds: float = 120.0
    sleep: Callable[[float], None] = time.sleep
    outcomes: list[Outcome] = field(default_factory=list)

    def record(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        print(outcome.line(), file=self.out, flush=True)

    def apply(self, item: str, action: Callable[[], object], detail: str) -> None:
        if self.dry_run:
            self.record(Outcome(item, "would change", detail))
            return
        try:
            action()
        except Exception as error:  # botocore ClientError/BotoCoreError: report and carry on with the rest
            self.record(Outcome(item, "failed", f"{detail}: {error}"))
        else:
            self.record(Outcome(item, "changed", detail))


def _error_code(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def fix_mappings(run: Run) -> None:
    lam = run.clients.lambda_
    functions = [f for page in lam.get_paginator("list_functions").paginate() for f in page["Functions"]]
    mappings = {}
    for function in functions:
        if function["FunctionName"].startswith(function_prefix(run.stage)):
            # By ARN: Chalice creates its mappings with the function's ARN (AWS finds them by name too; moto does not).
            pages = lam.get_paginator("list_event_source_mappings").paginate(FunctionName=function["FunctionArn"])
            mappings[function["FunctionName"]] = [m for page in pages for m in page["EventSourceMappings"]]
    plan = plan_mappings(run.stage, functions, mappings)
    for decision in plan.decisions:
        if not decision.needs_update:
            run.record(Outcome(decision.item, "unchanged", f"{REPORT_BATCH_ITEM_FAILURES} already set"))
        else:
            run.apply(decision.item, functools.partial(_update_mapping, run, decision),
                      f"set {REPORT_BATCH_ITEM_FAILURES}")
    for problem in plan.problems:
        run.record(Outcome("event source mappings", "failed", problem))


def _update_mapping(run: Run, decision: MappingDecision) -> None:
    """UpdateEventSourceMapping, retried while the mapping is still settling (Creating, Updating, ...)."""
    deadline = time.monotonic() + run.wait_seconds
    while True:
        try:
            run.clients.lambda_.update_event_source_mapping(UUID=decision.uuid, FunctionResponseTypes=decision.target)
            return
        except Exception as error:
            if _error_code(error) != "ResourceInUseException" or time.monotonic() >= deadline:
                raise
            run.sleep(5)


def resolve_rest_api(run: Run, api_stage: str) -> str:
    if run.rest_api_id:
        return run.rest_api_id
    deployed = run.project_dir / ".chalice" / "deployed" / f"{run.stage}.json"
    if deployed.exists():
        found = rest_api_id_from_deployed(json.loads(deployed.read_text()))
        if found:
            return found
    apis = [a for page in run.clients.apigateway.get_paginator("get_rest_apis").paginate() for a in page["items"]]
    candidates = [a["id"] for a in apis if a.get("name") == APP_NAME
                  and any(s["stageName"] == api_stage
                          for s in run.clients.apigateway.get_stages(restApiId=a["id"]).get("item", []))]
    if len(candidates) != 1:
        raise LookupError(f"{len(candidates)} REST APIs named {APP_NAME!r} have a stage {api_stage!r} and "
                          f"{deployed} does not name one: pass --rest-api-id")
    return str(candidates[0])


def fix_stage(run: Run) -> None:
    api_stage = run.api_stage or api_gateway_stage_name(_chalice_config(run.project_dir), run.stage)
    try:
        api_id = resolve_rest_api(run, api_stage)
        stage_desc = run.clients.apigateway.get_stage(restApiId=api_id, stageName=api_stage)
    except Exception as error:
        run.record(Outcome(f"API Gateway stage {api_stage!r}", "failed", str(error)))
        return
    where, settings = f"stage {api_id}/{api_stage}", run.settings
    _fix_gateway_responses(run, api_id, api_stage, stage_desc)
    # One UpdateStage per concern, so that one refused setting does not keep the others from being set.
    _patch(run, api_id, api_stage, f"{where} throttling", throttling_ops(stage_desc, settings),
           f"rate {_number(settings.rate_limit)}/s, burst {settings.burst_limit}")
    if settings.detailed_metrics is not None:
        _patch(run, api_id, api_stage, f"{where} detailed metrics", metrics_ops(stage_desc, settings),
               "on" if settings.detailed_metrics else "off")
    if not _logging_role_ready(run):
        return
    destination = _ensure_log_group(run)
    if destination is not None:
        _patch(run, api_id, api_stage, f"{where} access log", access_log_ops(stage_desc, destination),
               f"JSON to {settings.log_group}")
    if settings.execution_logging is not None:
        _patch(run, api_id, api_stage, f"{where} execution logging", execution_logging_ops(stage_desc, settings),
               f"level {settings.execution_logging}, no data trace")


def _fix_gateway_responses(run: Run, api_id: str, api_stage: str, stage_desc: Mapping[str, Any]) -> None:
    """ProblemDetails for the gateway's own answers; a REST API serves changed responses after a new deployment."""
    from infra.generate import gateway_response_requests

    item, apigateway = f"stage {api_id}/{api_stage} gateway responses", run.clients.apigateway
    try:
        wanted = gateway_response_requests()
        pages = apigateway.get_paginator("get_gateway_responses").paginate(restApiId=api_id)
        changes = gateway_response_changes([r for page in pages for r in page["items"]], wanted)
    except Exception as error:
        run.record(Outcome(item, "failed", str(error)))
        return
    if not changes:
        run.record(Outcome(item, "unchanged", f"{len(wanted)} as ProblemDetails"))
        return

    def put_and_redeploy() -> None:
        for request in changes:
            apigateway.put_gateway_response(restApiId=api_id, **request)
        apigateway.create_deployment(restApiId=api_id, stageName=api_stage, description="netweave post-deploy",
                                     tracingEnabled=bool(stage_desc.get("tracingEnabled", False)))

    types = ", ".join(str(r["responseType"]) for r in changes)
    run.apply(item, put_and_redeploy, f"put {len(changes)} of {len(wanted)} ({types}), then redeploy {api_stage}")


def _patch(run: Run, api_id: str, api_stage: str, item: str, ops: list[PatchOp], detail: str) -> None:
    if not ops:
        run.record(Outcome(item, "unchanged", detail))
        return
    run.apply(item, lambda: run.clients.apigateway.update_stage(restApiId=api_id, stageName=api_stage,
                                                               patchOperations=ops), detail)


def _logging_role_ready(run: Run) -> bool:
    item = "API Gateway account CloudWatch role"
    try:
        blocker = logging_blocker(run.clients.apigateway.get_account())
    except Exception as error:
        run.record(Outcome(item, "failed", str(error)))
        return False
    if blocker is None:
        run.record(Outcome(item, "unchanged", "set"))
        return True
    if run.cloudwatch_role_arn is None:
        run.record(Outcome(item, "failed", blocker))
        return False
    ops = [_replace("/cloudwatchRoleArn", run.cloudwatch_role_arn)]
    run.apply(item, lambda: run.clients.apigateway.update_account(patchOperations=ops), run.cloudwatch_role_arn)
    return run.outcomes[-1].status != "failed"


def _ensure_log_group(run: Run) -> str | None:
    """Create the access log group or fix its retention; its ARN, or None if it could not be made."""
    logs, name, days = run.clients.logs, run.settings.log_group, run.settings.retention_days
    item = f"log group {name}"
    try:
        action = plan_log_group(logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"], name, days)
        if action == "create":
            run.apply(item, lambda: (logs.create_log_group(logGroupName=name),
                                     logs.put_retention_policy(logGroupName=name, retentionInDays=days)),
                      f"create, retention {days} days")
        elif action == "set retention":
            run.apply(item, lambda: logs.put_retention_policy(logGroupName=name, retentionInDays=days),
                      f"set retention to {days} days")
        else:
            run.record(Outcome(item, "unchanged", f"retention {days} days"))
        if run.outcomes[-1].status == "failed":
            return None
        groups = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        group = next((g for g in groups if g.get("logGroupName") == name), None)
        return log_group_arn(group) if group else f"(the ARN of {name}, once created)"
    except Exception as error:
        run.record(Outcome(item, "failed", str(error)))
        return None


def _chalice_config(project_dir: Path) -> dict[str, Any]:
    path = project_dir / ".chalice" / "config.json"
    return dict(json.loads(path.read_text())) if path.exists() else {}


def execute(run: Run) -> int:
    print(f"netweave post-deploy, stage {run.stage}" + (" (dry run: nothing is changed)" if run.dry_run else ""),
          file=run.out)
    for step in (fix_mappings, fix_stage):
        try:
            step(run)
        except Exception as error:
            run.record(Outcome(step.__name__.replace("_", " "), "failed", str(error)))
    text, status = summarize(run.outcomes)
    print(text, file=run.out)
    return status


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m infra.post_deploy", description=DESCRIPTION)
    parser.add_argument("--stage", required=True, help="the Chalice stage (as in `chalice deploy --stage`)")
    parser.add_argument("--dry-run", action="store_true", help="print what would change; change nothing")
    parser.add_argument("--rate-limit", type=float, default=DEFAULT_RATE_LIMIT, help="stage-wide steady requests/s")
    parser.add_argument("--burst-limit", type=int, default=DEFAULT_BURST_LIMIT, help="stage-wide burst (requests)")
    parser.add_argument("--access-log-group", help="default: /aws/apigateway/netweave-<stage>/access")
    parser.add_argument("--log-retention-days", type=int, default=DEFAULT_RETENTION_DAYS, choices=RETENTION_DAYS,
                        metavar="DAYS", help=f"access log retention (default {DEFAULT_RETENTION_DAYS})")
    parser.add_argument("--detailed-metrics", action=argparse.BooleanOptionalAction, default=None,
                        help="per-method CloudWatch metrics (billed); default: leave as it is")
    parser.add_argument("--execution-logging", choices=LOGGING_LEVELS, help="default: leave as it is")
    parser.add_argument("--cloudwatch-role-arn", help="set API Gateway's account-wide CloudWatch role if none is set")
    parser.add_argument("--rest-api-id", help="default: from .chalice/deployed/<stage>.json")
    parser.add_argument("--api-gateway-stage", help="default: api_gateway_stage of the stage in .chalice/config.json")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help="where .chalice/ is")
    parser.add_argument("--wait-seconds", type=float, default=120.0, help="how long to retry a mapping still settling")
    args = parser.parse_args(argv)
    if args.rate_limit <= 0 or args.burst_limit <= 0:
        parser.error("--rate-limit and --burst-limit must be positive")
    return args


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    args = parse_args(argv)
    import boto3  # region, credentials and AWS_ENDPOINT_URL from the environment, as for the AWS CLI

    session = boto3.session.Session()
    clients = Clients(session.client("lambda"), session.client("apigateway"), session.client("logs"))
    settings = EdgeSettings(args.rate_limit, args.burst_limit, args.access_log_group or default_log_group(args.stage),
                            args.log_retention_days, args.detailed_metrics, args.execution_logging)
    return execute(Run(args.stage, args.dry_run, settings, clients, out or sys.stdout, args.rest_api_id,
                       args.api_gateway_stage, args.project_dir, args.cloudwatch_role_arn, args.wait_seconds))


if __name__ == "__main__":
    sys.exit(main())
