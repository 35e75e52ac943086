"""The decisions of `infra/post_deploy.py`: what to change, from describe results (ListFunctions,
ListEventSourceMappings, GetStage, GetGatewayResponses, DescribeLogGroups, GetAccount, Chalice's files). No function
here does I/O; `infra/post_deploy.py` makes the calls.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from chalicelib import resources

APP_NAME = "netweave"
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


def format_number(value: float) -> str:
    return f"{value:g}"


def throttling_ops(stage_desc: Mapping[str, Any], settings: EdgeSettings) -> list[PatchOp]:
    current = _stage_wide(stage_desc)
    ops = []
    if current.get("throttlingRateLimit") is None or float(current["throttlingRateLimit"]) != settings.rate_limit:
        ops.append(replace_op("/*/*/throttling/rateLimit", format_number(settings.rate_limit)))
    if current.get("throttlingBurstLimit") is None or int(current["throttlingBurstLimit"]) != settings.burst_limit:
        ops.append(replace_op("/*/*/throttling/burstLimit", str(settings.burst_limit)))
    return ops


def access_log_ops(stage_desc: Mapping[str, Any], destination_arn: str) -> list[PatchOp]:
    current = stage_desc.get("accessLogSettings") or {}
    ops = []
    if str(current.get("destinationArn", "")).removesuffix(":*") != destination_arn:
        ops.append(replace_op("/accessLogSettings/destinationArn", destination_arn))
    if current.get("format") != ACCESS_LOG_FORMAT:
        ops.append(replace_op("/accessLogSettings/format", ACCESS_LOG_FORMAT))
    return ops


def metrics_ops(stage_desc: Mapping[str, Any], settings: EdgeSettings) -> list[PatchOp]:
    enabled = bool(_stage_wide(stage_desc).get("metricsEnabled", False))
    if settings.detailed_metrics is None or enabled == settings.detailed_metrics:
        return []
    return [replace_op("/*/*/metrics/enabled", str(settings.detailed_metrics).lower())]


def execution_logging_ops(stage_desc: Mapping[str, Any], settings: EdgeSettings) -> list[PatchOp]:
    current = _stage_wide(stage_desc)
    ops = []
    if settings.execution_logging is not None:
        if current.get("loggingLevel", "OFF") != settings.execution_logging:
            ops.append(replace_op("/*/*/logging/loglevel", settings.execution_logging))
        if current.get("dataTraceEnabled", False):  # full requests in the logs: tokens and chart uploads. Never.
            ops.append(replace_op("/*/*/logging/dataTrace", "false"))
    return ops


def replace_op(path: str, value: str) -> PatchOp:
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


# ---------------------------------------------------------------- decisions: the first polls

# app.py's scheduled functions. Until the first inventory poll has stored a snapshot every list answers [] and /ready
# is 503 (docs/o2-conventions.md §6); the schedule would run it only minutes after the deploy.
FIRST_POLLS = ("poll_inventory", "poll_deployments")
_BAD_BACKEND = ("unreachable", "failed")


def first_poll_outcome(item: str, function_error: str | None, answer: Any) -> Outcome:
    """What one synchronous invoke of a poll function achieved, from its answer: the handler's poll report(s)."""
    if function_error:
        message = answer.get("errorMessage") if isinstance(answer, dict) else answer
        return Outcome(item, "failed", f"the function failed ({function_error}): {str(message)[:200]}")
    if isinstance(answer, list) and answer and all(isinstance(r, dict) and "backend" in r for r in answer):
        shown = "; ".join(f"{r['backend']}: {r.get('status')}, {r.get('objects', 0)} objects"
                          + (f" ({r['error']})" if r.get("error") else "") for r in answer)
        if any(r.get("status") in _BAD_BACKEND for r in answer):
            return Outcome(item, "failed", shown)
        return Outcome(item, "changed" if any(r.get("status") == "changed" for r in answer) else "unchanged", shown)
    if isinstance(answer, dict) and "checked" in answer:
        shown = f"{answer['checked']} deployments checked, {answer.get('changed', 0)} changed"
        problems = [*answer.get("unreachable", []), *answer.get("failed", [])]
        if problems:
            return Outcome(item, "failed", f"{shown}; not refreshed: {', '.join(map(str, problems))}")
        return Outcome(item, "changed" if answer.get("changed") else "unchanged", shown)
    return Outcome(item, "failed", f"not a poll report: {json.dumps(answer)[:200]}")
