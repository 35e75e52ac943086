"""Settings `chalice deploy` does not manage; run after every deploy of a stage:

    python -m infra.post_deploy --stage prod [--dry-run]

(a) Every SQS event source mapping of the stage's functions gets `FunctionResponseTypes=["ReportBatchItemFailures"]`.
    The handlers answer `{"batchItemFailures": [...]}`; without this setting Lambda ignores that answer and deletes the
    whole batch, failed messages included. Chalice keeps the setting on redeploy but drops it when it recreates a
    mapping, hence "after every deploy".
(b) The API Gateway stage: the gateway responses of infra/api-gateway.json (ProblemDetails; the stage is redeployed when
    they change), stage-wide throttling, JSON access logs to a CloudWatch log group (created if missing, with
    retention), optionally detailed metrics and execution logging.
(c) The first polls: `poll_inventory` and `poll_deployments` invoked once (Lambda Invoke, synchronously), so the
    stage serves its inventory and `/ready` is 200 from the first request, not only once the schedule fires.
(d) A summary; exit status 1 if anything could not be set (or, with --dry-run, is known to be impossible).

The `plan_*`, `*_ops` and `*_changes` functions of `infra/post_deploy_plan.py` decide from describe results and do no
I/O; the `fix_*` functions here make the calls. Idempotent: a second run reports everything "unchanged".
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from infra.gateway_responses import gateway_response_requests
from infra.post_deploy_plan import (
    APP_NAME,
    DEFAULT_BURST_LIMIT,
    DEFAULT_RATE_LIMIT,
    DEFAULT_RETENTION_DAYS,
    FIRST_POLLS,
    LOGGING_LEVELS,
    REPORT_BATCH_ITEM_FAILURES,
    RETENTION_DAYS,
    EdgeSettings,
    MappingDecision,
    Outcome,
    PatchOp,
    access_log_ops,
    api_gateway_stage_name,
    default_log_group,
    execution_logging_ops,
    first_poll_outcome,
    format_number,
    function_prefix,
    gateway_response_changes,
    log_group_arn,
    logging_blocker,
    metrics_ops,
    plan_log_group,
    plan_mappings,
    replace_op,
    rest_api_id_from_deployed,
    summarize,
    throttling_ops,
)

DESCRIPTION = ("Set what `chalice deploy` does not: ReportBatchItemFailures on SQS event sources, API stage edges; "
               "then run the first inventory and deployment polls.")
PROJECT_DIR = Path(__file__).resolve().parent.parent


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
           f"rate {format_number(settings.rate_limit)}/s, burst {settings.burst_limit}")
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
    ops = [replace_op("/cloudwatchRoleArn", run.cloudwatch_role_arn)]
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


def first_polls(run: Run) -> None:
    """Invoke the poll functions once, synchronously, after the mappings are right (the inventory poll publishes
    events that `fan_out` consumes): the stage answers its whole O-Cloud, and /ready says ready, from the first call
    after the deploy, not only once the schedule fires. A second run polls again and finds nothing to change."""
    lam = run.clients.lambda_
    names = {f["FunctionName"] for page in lam.get_paginator("list_functions").paginate() for f in page["Functions"]}
    for short in FIRST_POLLS:
        name = function_prefix(run.stage) + short
        item = f"first poll {name}"
        if name not in names:
            run.record(Outcome(item, "failed", "no such function: deploy the stage first"))
        elif run.dry_run:
            run.record(Outcome(item, "would change", "invoke it once and wait for its report"))
        else:
            try:
                function_error, answer = invoke_function(lam, name, _scheduled_event(name))
            except Exception as error:
                run.record(Outcome(item, "failed", str(error)))
            else:
                run.record(first_poll_outcome(item, function_error, answer))


def invoke_function(lam: Any, name: str, event: Mapping[str, Any]) -> tuple[str | None, Any]:
    """Lambda Invoke, RequestResponse: the function's error kind (None if it returned) and its JSON answer."""
    reply = lam.invoke(FunctionName=name, InvocationType="RequestResponse", Payload=json.dumps(event).encode())
    raw = reply["Payload"].read()
    try:
        answer = json.loads(raw) if raw else None
    except ValueError:
        answer = raw.decode(errors="replace")
    return reply.get("FunctionError"), answer


def _scheduled_event(name: str) -> dict[str, Any]:
    """The event EventBridge sends a scheduled function (the handlers read none of it)."""
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "resources": [], "detail": {},
            "netweave": f"infra.post_deploy first poll of {name}"}


def _chalice_config(project_dir: Path) -> dict[str, Any]:
    path = project_dir / ".chalice" / "config.json"
    return dict(json.loads(path.read_text())) if path.exists() else {}


def execute(run: Run) -> int:
    print(f"netweave post-deploy, stage {run.stage}" + (" (dry run: nothing is changed)" if run.dry_run else ""),
          file=run.out)
    for step in (fix_mappings, fix_stage, first_polls):
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
