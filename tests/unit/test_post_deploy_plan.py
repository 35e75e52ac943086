"""The decisions of `infra/post_deploy.py`, from describe results shaped as AWS documents them (ListFunctions,
ListEventSourceMappings, GetStage, DescribeLogGroups, GetAccount), plus the retry and lookup paths moto cannot show:
a mapping still settling (moto's mappings are Enabled at once) and a REST API found by name."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from chalice.app import SQSEventConfig

from chalicelib import resources
from infra import post_deploy
from infra import post_deploy_plan as pd

ROOT = Path(__file__).resolve().parents[2]
REGION_ACCOUNT = "eu-west-1:123456789012"
LOG_GROUP = "/aws/apigateway/netweave-prod/access"
LOG_GROUP_ARN = f"arn:aws:logs:{REGION_ACCOUNT}:log-group:{LOG_GROUP}"


def function(name: str) -> dict[str, Any]:
    return {"FunctionName": name, "FunctionArn": f"arn:aws:lambda:{REGION_ACCOUNT}:function:{name}",
            "Runtime": "python3.11", "Handler": "app.app"}


def mapping(uuid: str, source: str, function_name: str, types: list[str] | None = None) -> dict[str, Any]:
    entry = {"UUID": uuid, "BatchSize": 10, "MaximumBatchingWindowInSeconds": 0, "EventSourceArn": source,
             "FunctionArn": f"arn:aws:lambda:{REGION_ACCOUNT}:function:{function_name}", "State": "Enabled",
             "StateTransitionReason": "USER_INITIATED"}
    if types is not None:  # AWS answers [] when unset; moto leaves the key out
        entry["FunctionResponseTypes"] = types
    return entry


def sqs(name: str) -> str:
    return f"arn:aws:sqs:{REGION_ACCOUNT}:{name}"


FUNCTIONS = [function(n) for n in ("netweave-prod", "netweave-prod-fan_out", "netweave-prod-deliver",
                                   "netweave-prod-run_dms_operation", "netweave-prod-poll_inventory",
                                   "netweave-dev-fan_out", "other-app")]
MAPPINGS = {
    "netweave-prod-fan_out": [mapping("u1", sqs("netweave-prod-events.fifo"), "netweave-prod-fan_out", [])],
    "netweave-prod-deliver": [mapping("u2", sqs("netweave-prod-deliveries.fifo"), "netweave-prod-deliver",
                                      ["ReportBatchItemFailures"])],
    "netweave-prod-run_dms_operation": [mapping("u3", sqs("netweave-prod-dms-operations.fifo"),
                                                "netweave-prod-run_dms_operation")],
    "netweave-prod-poll_inventory": [],
}


# ---------------------------------------------------------------- event source mappings


def test_mappings_without_the_setting_are_updated_and_the_others_left_alone() -> None:
    plan = pd.plan_mappings("prod", FUNCTIONS, MAPPINGS)
    assert plan.problems == []
    decisions = {d.function: d for d in plan.decisions}
    assert set(decisions) == {"netweave-prod-fan_out", "netweave-prod-deliver", "netweave-prod-run_dms_operation"}
    assert [d.uuid for d in plan.decisions if d.needs_update] == ["u1", "u3"]
    assert decisions["netweave-prod-fan_out"].target == ["ReportBatchItemFailures"]
    assert decisions["netweave-prod-fan_out"].queue == "netweave-prod-events.fifo"
    assert not decisions["netweave-prod-deliver"].needs_update


def test_only_the_stages_functions_and_sqs_sources_count() -> None:
    mappings = {**MAPPINGS,
                "netweave-dev-fan_out": [mapping("d1", sqs("netweave-dev-events.fifo"), "netweave-dev-fan_out")],
                "netweave-prod-poll_inventory": [mapping(
                    "k1", f"arn:aws:dynamodb:{REGION_ACCOUNT}:table/x/stream/2024", "netweave-prod-poll_inventory")]}
    plan = pd.plan_mappings("prod", FUNCTIONS, mappings)
    assert {d.uuid for d in plan.decisions} == {"u1", "u2", "u3"}
    assert plan.problems == []


def test_a_function_wired_to_another_stages_queue_is_a_problem() -> None:
    # `chalice deploy --stage prod` without NETWEAVE_STAGE=prod: app.py computed dev queue names at import.
    mappings = {**MAPPINGS, "netweave-prod-fan_out": [mapping("u1", sqs("netweave-dev-events.fifo"),
                                                              "netweave-prod-fan_out")]}
    plan = pd.plan_mappings("prod", FUNCTIONS, mappings)
    assert {d.uuid for d in plan.decisions} == {"u2", "u3"}
    assert len(plan.problems) == 2
    assert "netweave-prod-fan_out consumes netweave-dev-events.fifo" in plan.problems[0]
    assert "NETWEAVE_STAGE=prod" in plan.problems[0]
    assert "consumes netweave-prod-events.fifo" in plan.problems[1]


def test_nothing_deployed_means_every_queue_is_a_problem() -> None:
    plan = pd.plan_mappings("prod", [], {})
    assert plan.decisions == []
    assert [p.split(" consumes ")[1].split()[0] for p in plan.problems] == sorted(
        resources.queue_name("prod", q) for q in resources.QUEUES)


def test_existing_response_types_are_kept() -> None:
    decision = pd.MappingDecision("f", "q", "u", ("SomethingFuture",))
    assert decision.needs_update and decision.target == ["ReportBatchItemFailures", "SomethingFuture"]


def test_app_py_consumes_exactly_the_queues_of_resources_py() -> None:
    """post_deploy reports a queue without consumer as a failure; that is right only if app.py reads them all."""
    import app

    consumed = {source.queue for source in app.app.event_sources if isinstance(source, SQSEventConfig)}
    # app.py names its queues with the stage in the environment when it was first imported (in this test process
    # possibly a functional test's stage): read that stage back from the names.
    stages = {str(name).removeprefix("netweave-").split("-")[0] for name in consumed}
    assert len(stages) == 1
    (stage,) = stages
    assert consumed == {resources.queue_name(stage, q) for q in resources.QUEUES}


# ---------------------------------------------------------------- API Gateway stage


FRESH_STAGE: dict[str, Any] = {"deploymentId": "d1", "stageName": "v1", "cacheClusterEnabled": False,
                               "cacheClusterStatus": "NOT_AVAILABLE", "methodSettings": {}, "tracingEnabled": False}
SETTINGS = pd.EdgeSettings(log_group=LOG_GROUP)


def configured_stage(**stage_wide: Any) -> dict[str, Any]:
    settings = {"metricsEnabled": False, "loggingLevel": "OFF", "dataTraceEnabled": False,
                "throttlingBurstLimit": 100, "throttlingRateLimit": 50.0, "cachingEnabled": False,
                "cacheTtlInSeconds": 300, "cacheDataEncrypted": False, "requireAuthorizationForCacheControl": True,
                "unauthorizedCacheControlHeaderStrategy": "SUCCEED_WITH_RESPONSE_HEADER", **stage_wide}
    return {**FRESH_STAGE, "methodSettings": {"*/*": settings},
            "accessLogSettings": {"format": pd.ACCESS_LOG_FORMAT, "destinationArn": LOG_GROUP_ARN}}


@pytest.mark.parametrize("stage", [FRESH_STAGE, {"stageName": "v1"}])
def test_a_fresh_stage_gets_throttling_and_access_logs(stage: dict[str, Any]) -> None:
    assert pd.throttling_ops(stage, SETTINGS) == [
        {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "50"},
        {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "100"},
    ]
    assert pd.access_log_ops(stage, LOG_GROUP_ARN) == [
        {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": LOG_GROUP_ARN},
        {"op": "replace", "path": "/accessLogSettings/format", "value": pd.ACCESS_LOG_FORMAT},
    ]
    assert pd.metrics_ops(stage, SETTINGS) == [] and pd.execution_logging_ops(stage, SETTINGS) == []


def test_a_configured_stage_needs_nothing() -> None:
    stage = configured_stage()
    assert pd.throttling_ops(stage, SETTINGS) == []
    assert pd.access_log_ops(stage, LOG_GROUP_ARN) == []
    logging = pd.EdgeSettings(log_group=LOG_GROUP, detailed_metrics=False, execution_logging="OFF")
    assert pd.metrics_ops(stage, logging) == [] and pd.execution_logging_ops(stage, logging) == []


def test_only_what_differs_is_patched() -> None:
    stage = configured_stage(throttlingRateLimit=12.5)
    settings = pd.EdgeSettings(rate_limit=12.5, burst_limit=40, log_group=LOG_GROUP)
    assert pd.throttling_ops(stage, settings) == [{"op": "replace", "path": "/*/*/throttling/burstLimit",
                                                   "value": "40"}]
    moved = {**stage, "accessLogSettings": {"format": pd.ACCESS_LOG_FORMAT, "destinationArn": LOG_GROUP_ARN + ":*"}}
    assert pd.access_log_ops(moved, LOG_GROUP_ARN) == []  # the same group, written with DescribeLogGroups' suffix
    assert pd.access_log_ops(moved, LOG_GROUP_ARN + "-new")[0]["path"] == "/accessLogSettings/destinationArn"


def test_metrics_and_execution_logging_never_turn_on_data_trace() -> None:
    stage = configured_stage(dataTraceEnabled=True)
    settings = pd.EdgeSettings(log_group=LOG_GROUP, detailed_metrics=True, execution_logging="ERROR")
    assert pd.metrics_ops(stage, settings) == [{"op": "replace", "path": "/*/*/metrics/enabled", "value": "true"}]
    assert pd.execution_logging_ops(stage, settings) == [
        {"op": "replace", "path": "/*/*/logging/loglevel", "value": "ERROR"},
        {"op": "replace", "path": "/*/*/logging/dataTrace", "value": "false"},
    ]


def test_the_access_log_format_is_one_line_of_json_with_the_fields_operators_need() -> None:
    assert "\n" not in pd.ACCESS_LOG_FORMAT
    fields = json.loads(pd.ACCESS_LOG_FORMAT)
    assert {"requestId", "ip", "caller", "route", "status", "latency"} <= set(fields)
    assert fields["requestId"] == "$context.requestId"  # API Gateway requires requestId or extendedRequestId
    assert all(value.startswith("$context.") for value in fields.values())


def test_gateway_responses_are_put_where_they_differ() -> None:
    ours = {"responseType": "THROTTLED", "statusCode": "429",
            "responseParameters": {"gatewayresponse.header.Content-Type": "'application/problem+json'"},
            "responseTemplates": {"application/json": '{"status": 429}'}}
    other = {**ours, "responseType": "MISSING_AUTHENTICATION_TOKEN", "statusCode": "404"}
    # GetGatewayResponses lists every type, the untouched ones as defaultResponse with API Gateway's own template.
    default = {"responseType": "MISSING_AUTHENTICATION_TOKEN", "statusCode": "403", "defaultResponse": True,
               "responseParameters": {}, "responseTemplates": {"application/json": '{"message":$context.error.'
                                                                                   'messageString}'}}
    assert pd.gateway_response_changes([default], [ours, other]) == [ours, other]
    assert pd.gateway_response_changes([{**ours, "defaultResponse": False}, default], [ours, other]) == [other]
    assert pd.gateway_response_changes([ours, other], [ours, other]) == []


# ---------------------------------------------------------------- log group, account, lookups, summary


def log_group(name: str, retention: int | None = None) -> dict[str, Any]:
    group: dict[str, Any] = {"logGroupName": name, "creationTime": 1, "metricFilterCount": 0, "storedBytes": 0,
                             "arn": f"arn:aws:logs:{REGION_ACCOUNT}:log-group:{name}:*"}
    if retention is not None:
        group["retentionInDays"] = retention
    return group


def test_log_group_decisions() -> None:
    assert pd.plan_log_group([], LOG_GROUP, 90) == "create"
    assert pd.plan_log_group([log_group(LOG_GROUP + "-old", 90)], LOG_GROUP, 90) == "create"  # prefix match only
    assert pd.plan_log_group([log_group(LOG_GROUP)], LOG_GROUP, 90) == "set retention"  # never expires
    assert pd.plan_log_group([log_group(LOG_GROUP, 30)], LOG_GROUP, 90) == "set retention"
    assert pd.plan_log_group([log_group(LOG_GROUP, 90)], LOG_GROUP, 90) == "ok"
    assert pd.log_group_arn(log_group(LOG_GROUP)) == LOG_GROUP_ARN
    assert pd.log_group_arn({**log_group(LOG_GROUP), "logGroupArn": LOG_GROUP_ARN}) == LOG_GROUP_ARN


def test_logging_needs_the_accounts_cloudwatch_role() -> None:
    assert pd.logging_blocker({"throttleSettings": {"burstLimit": 5000, "rateLimit": 10000.0}}) is not None
    assert pd.logging_blocker({"cloudwatchRoleArn": "arn:aws:iam::123456789012:role/apigw"}) is None


def test_rest_api_and_stage_names_come_from_chalices_files() -> None:
    deployed = {"schema_version": "2.0", "backend": "api", "resources": [
        {"name": "api_handler_role", "resource_type": "iam_role", "role_arn": "arn:aws:iam::1:role/x"},
        {"name": "rest_api", "resource_type": "rest_api", "rest_api_id": "abc123",
         "rest_api_url": "https://abc123.execute-api.eu-west-1.amazonaws.com/v1/"}]}
    assert pd.rest_api_id_from_deployed(deployed) == "abc123"
    assert pd.rest_api_id_from_deployed({"resources": []}) is None
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    assert pd.api_gateway_stage_name(config, "prod") == "v1"
    assert pd.api_gateway_stage_name(config, "dev") == "api"
    assert pd.api_gateway_stage_name({}, "anything") == "api"  # Chalice's default


def test_summary_and_exit_status() -> None:
    ok = [pd.Outcome("a", "changed"), pd.Outcome("b", "unchanged"), pd.Outcome("c", "would change")]
    assert pd.summarize(ok) == ("summary: 1 changed, 1 unchanged, 1 would change", 0)
    text, status = pd.summarize([*ok, pd.Outcome("d", "failed", "AccessDenied")])
    assert status == 1 and text.endswith("not set:\n  - d: AccessDenied")


@pytest.mark.parametrize("argv", [["--stage", "prod", "--rate-limit", "0"], ["--stage", "prod",
                                                                             "--log-retention-days", "10"], []])
def test_bad_options_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        post_deploy.parse_args(argv)
    assert exit_info.value.code == 2


# ---------------------------------------------------------------- I/O paths moto cannot exercise


class Pages:
    def __init__(self, pages: dict[str, list[dict[str, Any]]]) -> None:
        self.pages = pages

    def get_paginator(self, operation: str) -> Any:
        pages = self.pages[operation]

        class Paginator:
            def paginate(self, **_: Any) -> Iterator[dict[str, Any]]:
                yield from pages

        return Paginator()


class SettlingLambda(Pages):
    """A mapping Chalice has just created: `ResourceInUseException` until it leaves `Creating`."""

    def __init__(self, busy_answers: int) -> None:
        super().__init__({"list_functions": [{"Functions": [function("netweave-prod-fan_out")]}],
                          "list_event_source_mappings": [{"EventSourceMappings": MAPPINGS["netweave-prod-fan_out"]}]})
        self.busy_answers = busy_answers
        self.updates: list[dict[str, Any]] = []

    def update_event_source_mapping(self, **kwargs: Any) -> dict[str, Any]:
        self.updates.append(kwargs)
        if self.busy_answers:
            self.busy_answers -= 1
            raise ClientError({"Error": {"Code": "ResourceInUseException", "Message": "state Creating"}},
                              "UpdateEventSourceMapping")
        return {}


def run_with(lam: Any, apigateway: Any = None, wait_seconds: float = 60) -> tuple[post_deploy.Run, list[float]]:
    sleeps: list[float] = []
    run = post_deploy.Run("prod", False, SETTINGS, post_deploy.Clients(lam, apigateway, None), io.StringIO(),
                 wait_seconds=wait_seconds, sleep=sleeps.append, project_dir=Path("/nonexistent"))
    return run, sleeps


def test_a_settling_mapping_is_retried_until_it_accepts() -> None:
    lam = SettlingLambda(busy_answers=2)
    run, sleeps = run_with(lam)
    post_deploy.fix_mappings(run)
    assert len(lam.updates) == 3 and sleeps == [5, 5]
    assert lam.updates[-1] == {"UUID": "u1", "FunctionResponseTypes": ["ReportBatchItemFailures"]}
    assert [o.status for o in run.outcomes if o.item.startswith("mapping")] == ["changed"]


def test_a_mapping_that_stays_busy_is_reported_failed() -> None:
    run, _ = run_with(SettlingLambda(busy_answers=100), wait_seconds=0)
    post_deploy.fix_mappings(run)
    failed = [o for o in run.outcomes if o.status == "failed"]
    assert failed[0].item.startswith("mapping netweave-prod-fan_out") and "ResourceInUseException" in failed[0].detail


class Apis(Pages):
    def __init__(self, stages: dict[str, list[str]]) -> None:
        super().__init__({"get_rest_apis": [{"items": [{"id": i, "name": "netweave"} for i in stages]
                                             + [{"id": "zzz", "name": "someone-else"}]}]})
        self.stages = stages

    def get_stages(self, restApiId: str) -> dict[str, Any]:
        return {"item": [{"stageName": s} for s in self.stages.get(restApiId, [])]}


def test_without_chalices_record_the_rest_api_is_found_by_name_and_stage() -> None:
    run, _ = run_with(None, Apis({"dev1": ["api"], "prod1": ["v1"]}))
    assert post_deploy.resolve_rest_api(run, "v1") == "prod1"
    run, _ = run_with(None, Apis({"a": ["v1"], "b": ["v1"]}))
    with pytest.raises(LookupError, match="2 REST APIs named 'netweave'"):
        post_deploy.resolve_rest_api(run, "v1")


@pytest.mark.parametrize(
    ("function_error", "answer", "status", "detail"),
    [
        (None, [{"backend": "edge", "status": "changed", "objects": 96}], "changed", "edge: changed, 96 objects"),
        (None, [{"backend": "edge", "status": "unchanged", "objects": 96},
                {"backend": "core", "status": "changed", "objects": 3}], "changed", "core: changed"),
        (None, [{"backend": "edge", "status": "unchanged", "objects": 96}], "unchanged", "edge: unchanged"),
        (None, [{"backend": "edge", "status": "unreachable", "objects": 0, "error": "connection refused"}], "failed",
         "edge: unreachable, 0 objects (connection refused)"),
        (None, [], "failed", "not a poll report: []"),  # no backend polled: nothing would ever be served
        (None, {"checked": 2, "changed": 1, "unreachable": [], "failed": []}, "changed", "2 deployments checked"),
        (None, {"checked": 0, "changed": 0, "unreachable": [], "failed": []}, "unchanged", "0 deployments checked"),
        (None, {"checked": 2, "changed": 0, "unreachable": ["argocd"], "failed": []}, "failed",
         "not refreshed: argocd"),
        ("Unhandled", {"errorMessage": "boom", "errorType": "KeyError"}, "failed",
         "the function failed (Unhandled): boom"),
        (None, "Simple Lambda happy path OK", "failed", "not a poll report"),
    ],
)
def test_a_first_poll_is_judged_by_the_report_the_function_answers(function_error: str | None, answer: Any,
                                                                    status: str, detail: str) -> None:
    outcome = pd.first_poll_outcome("first poll netweave-prod-poll_inventory", function_error, answer)
    assert outcome.status == status
    assert detail in outcome.detail
