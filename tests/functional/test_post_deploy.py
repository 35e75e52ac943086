"""`python -m infra.post_deploy` against moto: a stage deployed the way Chalice leaves it (SQS event source mappings
without ReportBatchItemFailures, a REST API stage with no throttling or access logs), then the script's `main()`.

Each test deploys its own stage name, so the moto server this worker shares with other tests is not disturbed (no
message is ever sent to these queues: moto would try to invoke the functions, which needs Docker). For the same
reason the first-poll step's Lambda Invoke is stubbed (`FakeInvoke`): which functions it invokes is found through
moto's Lambda listing, what they answer is what the poll handlers answer (their own tests run them for real).
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib import resources
from infra import post_deploy
from infra.gateway_responses import gateway_response_requests

API_STAGE = "v1"
# Chalice's function names for the stage; the three SQS consumers and the queue each one reads (as app.py wires them).
CONSUMERS = {"fan_out": resources.EVENTS, "deliver": resources.DELIVERIES,
             "run_dms_operation": resources.DMS_OPERATIONS}
OTHER_FUNCTIONS = ("poll_inventory", "poll_deployments")


@dataclass
class Deployed:
    stage: str
    project_dir: Path
    rest_api_id: str
    mapping_ids: dict[str, str]  # function short name -> mapping UUID
    lam: Any
    apigateway: Any
    logs: Any

    def run(self, *extra: str) -> tuple[int, str]:
        out = io.StringIO()
        status = post_deploy.main(["--stage", self.stage, "--project-dir", str(self.project_dir),
                                   "--wait-seconds", "0", *extra], out=out)
        return status, out.getvalue()

    def response_types(self) -> dict[str, list[str]]:
        return {name: self.lam.get_event_source_mapping(UUID=uid).get("FunctionResponseTypes") or []
                for name, uid in self.mapping_ids.items()}

    def stage_desc(self) -> dict[str, Any]:
        result: dict[str, Any] = self.apigateway.get_stage(restApiId=self.rest_api_id, stageName=API_STAGE)
        return result


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


def _role(iam: Any, name: str, service: str) -> str:
    trust = {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}
    arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    return arn


class FakeInvoke:
    """Lambda Invoke of the poll functions: the first poll of a function stores the site (changed), later ones find
    nothing new, as `poll_inventory` and `poll_deployments` report it."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, lam: Any, name: str, event: dict[str, Any]) -> tuple[str | None, Any]:
        assert event["detail-type"] == "Scheduled Event"
        lam.get_function(FunctionName=name)  # a function of the stage, as moto lists it
        first = name not in self.calls
        self.calls.append(name)
        if name.endswith("-poll_inventory"):
            return None, [{"backend": "demo-cluster", "status": "changed" if first else "unchanged", "objects": 40}]
        return None, {"checked": 0, "changed": 0, "unreachable": [], "failed": [], "resubmitted": 0}


@pytest.fixture()
def invoked(monkeypatch: pytest.MonkeyPatch) -> FakeInvoke:
    fake = FakeInvoke()
    monkeypatch.setattr(post_deploy, "invoke_function", fake)
    return fake


@pytest.fixture()
def deployed(moto_url: str, tmp_path: Path, invoked: FakeInvoke) -> Deployed:
    stage = "pd" + uuid.uuid4().hex[:8]
    session = boto3.session.Session()
    sqs, lam, iam = session.client("sqs"), session.client("lambda"), session.client("iam")
    apigateway, logs = session.client("apigateway"), session.client("logs")
    queue_arns = {}
    for queue in resources.QUEUES:
        for dead in (False, True):
            attributes: dict[Any, str] = {"FifoQueue": "true"} if queue.fifo else {}
            name = resources.queue_name(stage, queue, dead)
            url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
            queue_arns[name] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"]
    role = _role(iam, f"netweave-{stage}", "lambda.amazonaws.com")
    code = {"ZipFile": _zip()}
    lam.create_function(FunctionName=f"netweave-{stage}", Runtime="python3.11", Role=role, Handler="app.handler",
                        Code=code)  # the API handler: no event source
    mapping_ids = {}
    for name in (*CONSUMERS, *OTHER_FUNCTIONS):
        arn = lam.create_function(FunctionName=f"netweave-{stage}-{name}", Runtime="python3.11", Role=role,
                                  Handler="app.handler", Code=code)["FunctionArn"]
        if name in CONSUMERS:
            # As Chalice does: by function ARN, batch size from app.py, no FunctionResponseTypes; except `deliver`,
            # which starts with the setting already in place (as after an earlier post-deploy run).
            extra = {"FunctionResponseTypes": ["ReportBatchItemFailures"]} if name == "deliver" else {}
            mapping = lam.create_event_source_mapping(
                EventSourceArn=queue_arns[resources.queue_name(stage, CONSUMERS[name])], FunctionName=arn,
                BatchSize=1 if name == "run_dms_operation" else 10, **extra)
            mapping_ids[name] = mapping["UUID"]
    api_id = apigateway.create_rest_api(name="netweave")["id"]
    root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    apigateway.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigateway.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
    apigateway.create_deployment(restApiId=api_id, stageName=API_STAGE)
    # What `chalice deploy --stage <stage>` leaves behind: its config (stage name of the API) and deployed record.
    chalice_dir = tmp_path / ".chalice"
    (chalice_dir / "deployed").mkdir(parents=True)
    (chalice_dir / "config.json").write_text(json.dumps(
        {"version": "2.0", "app_name": "netweave", "stages": {stage: {"api_gateway_stage": API_STAGE}}}))
    (chalice_dir / "deployed" / f"{stage}.json").write_text(json.dumps({"schema_version": "2.0", "backend": "api",
        "resources": [{"name": "rest_api", "resource_type": "rest_api", "rest_api_id": api_id,
                       "rest_api_url": f"https://{api_id}.execute-api.us-east-1.amazonaws.com/{API_STAGE}/"}]}))
    return Deployed(stage, tmp_path, api_id, mapping_ids, lam, apigateway, logs)


def _set_account_role(apigateway: Any, arn: str) -> None:
    apigateway.update_account(patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": arn}])


def _lines(output: str, status: str) -> list[str]:
    return [line for line in output.splitlines() if line.endswith(f": {status}") or f": {status} (" in line]


def test_post_deploy_sets_everything_once_and_then_changes_nothing(deployed: Deployed) -> None:
    apigateway = deployed.apigateway
    _set_account_role(apigateway, "")  # a fresh region: API Gateway may not write logs anywhere yet
    role = _role(boto3.client("iam"), f"apigw-logs-{deployed.stage}", "apigateway.amazonaws.com")
    log_group = f"/aws/apigateway/netweave-{deployed.stage}/access"

    # 1. Without a CloudWatch role for API Gateway: mappings and throttling are set, logging is refused, exit 1.
    status, output = deployed.run()
    assert status == 1, output
    assert deployed.response_types() == {name: ["ReportBatchItemFailures"] for name in CONSUMERS}
    # fan_out, run_dms_operation, gateway responses, throttling, the first inventory poll
    assert len(_lines(output, "changed")) == 5
    assert f"mapping netweave-{deployed.stage}-deliver <- " in "".join(_lines(output, "unchanged"))
    stage_wide = deployed.stage_desc()["methodSettings"]["*/*"]
    assert (stage_wide["throttlingRateLimit"], stage_wide["throttlingBurstLimit"]) == (50.0, 100)
    assert not deployed.stage_desc().get("accessLogSettings")
    assert "not set:" in output and "AmazonAPIGatewayPushToCloudWatchLogs" in output
    assert not deployed.logs.describe_log_groups(logGroupNamePrefix=log_group)["logGroups"]
    responses = apigateway.get_gateway_responses(restApiId=deployed.rest_api_id)["items"]
    wanted = {r["responseType"]: r for r in gateway_response_requests()}
    assert {r["responseType"]: (r["statusCode"], r["responseTemplates"]) for r in responses} == {
        t: (r["statusCode"], r["responseTemplates"]) for t, r in wanted.items()}
    assert wanted["MISSING_AUTHENTICATION_TOKEN"]["statusCode"] == "404"
    assert len(apigateway.get_deployments(restApiId=deployed.rest_api_id)["items"]) == 2  # redeployed for them

    # 2. With the role named: the account gets it, the log group is created, access logs and method settings are on.
    options = ("--cloudwatch-role-arn", role, "--log-retention-days", "30", "--rate-limit", "25", "--burst-limit",
               "60", "--detailed-metrics", "--execution-logging", "ERROR")
    status, output = deployed.run(*options)
    assert status == 0, output
    assert apigateway.get_account()["cloudwatchRoleArn"] == role
    groups = deployed.logs.describe_log_groups(logGroupNamePrefix=log_group)["logGroups"]
    assert [(g["logGroupName"], g["retentionInDays"]) for g in groups] == [(log_group, 30)]
    stage = deployed.stage_desc()
    access = stage["accessLogSettings"]
    assert access["destinationArn"] == groups[0]["arn"].removesuffix(":*")
    fields = json.loads(access["format"])
    assert {"requestId", "ip", "caller", "route", "status", "latency"} <= set(fields)
    stage_wide = stage["methodSettings"]["*/*"]
    assert (stage_wide["throttlingRateLimit"], stage_wide["throttlingBurstLimit"]) == (25.0, 60)
    assert (stage_wide["metricsEnabled"], stage_wide["loggingLevel"], stage_wide["dataTraceEnabled"]) == \
        (True, "ERROR", False)

    # 3. Again: nothing to do, every line says so.
    status, output = deployed.run(*options)
    assert status == 0, output
    assert not _lines(output, "changed") and not _lines(output, "would change") and not _lines(output, "failed")
    # mappings, gateway responses, throttling, metrics, role, log group, access log, execution logging, two polls
    assert len(_lines(output, "unchanged")) == 3 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 2
    assert len(apigateway.get_deployments(restApiId=deployed.rest_api_id)["items"]) == 2  # no more redeploys
    assert deployed.response_types() == {name: ["ReportBatchItemFailures"] for name in CONSUMERS}


def test_the_first_polls_run_once_per_deploy_after_the_mappings_are_set(deployed: Deployed,
                                                                          invoked: FakeInvoke) -> None:
    """Issue 16: the stage serves its inventory from the first request after the deploy, not once the schedule
    fires: post-deploy invokes both poll functions, after ReportBatchItemFailures is on the mapping of `fan_out`
    (which consumes the inventory poll's events)."""
    _set_account_role(deployed.apigateway, "arn:aws:iam::123456789012:role/apigw-logs")
    status, output = deployed.run()
    assert status == 0, output
    polls = [f"netweave-{deployed.stage}-poll_inventory", f"netweave-{deployed.stage}-poll_deployments"]
    assert invoked.calls == polls
    lines = output.splitlines()
    assert lines.index(f"first poll {polls[0]}: changed (demo-cluster: changed, 40 objects)") > max(
        i for i, line in enumerate(lines) if line.startswith("mapping "))
    assert f"first poll {polls[1]}: unchanged (0 deployments checked, 0 changed)" in lines
    deployed.run()
    assert invoked.calls == polls * 2  # every run: a redeploy may have changed what the functions read


def test_a_missing_or_failing_poll_function_fails_the_run(deployed: Deployed, invoked: FakeInvoke,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    _set_account_role(deployed.apigateway, "arn:aws:iam::123456789012:role/apigw-logs")
    deployed.lam.delete_function(FunctionName=f"netweave-{deployed.stage}-poll_deployments")
    monkeypatch.setattr(post_deploy, "invoke_function", lambda lam, name, event: (
        "Unhandled", {"errorMessage": "cluster credentials missing", "errorType": "ConfigurationError"}))
    status, output = deployed.run()
    assert status == 1
    failed = output.split("not set:")[1]
    assert f"first poll netweave-{deployed.stage}-poll_inventory: the function failed (Unhandled): cluster " \
           "credentials missing" in failed
    assert f"first poll netweave-{deployed.stage}-poll_deployments: no such function" in failed


def test_dry_run_changes_nothing(deployed: Deployed, invoked: FakeInvoke) -> None:
    _set_account_role(deployed.apigateway, "arn:aws:iam::123456789012:role/apigw-logs")
    status, output = deployed.run("--dry-run")
    assert invoked.calls == []
    assert status == 0, output
    assert "dry run" in output.splitlines()[0]
    # two mappings, gateway responses, throttling, log group, access log, two first polls (not invoked)
    assert len(_lines(output, "would change")) == 2 + 1 + 1 + 1 + 1 + 2
    assert deployed.response_types()["fan_out"] == []
    assert deployed.stage_desc()["methodSettings"] == {}
    assert deployed.apigateway.get_gateway_responses(restApiId=deployed.rest_api_id)["items"] == []
    assert not deployed.logs.describe_log_groups(logGroupNamePrefix=f"/aws/apigateway/netweave-{deployed.stage}/")[
        "logGroups"]


def test_a_queue_nobody_consumes_fails_the_run(deployed: Deployed) -> None:
    _set_account_role(deployed.apigateway, "arn:aws:iam::123456789012:role/apigw-logs")
    deployed.lam.delete_event_source_mapping(UUID=deployed.mapping_ids.pop("fan_out"))
    status, output = deployed.run()
    assert status == 1
    assert f"consumes netweave-{deployed.stage}-events.fifo" in output.split("not set:")[1]
    assert deployed.response_types() == {"deliver": ["ReportBatchItemFailures"],
                                         "run_dms_operation": ["ReportBatchItemFailures"]}


def test_an_unknown_rest_api_is_reported(deployed: Deployed) -> None:
    status, output = deployed.run("--rest-api-id", "doesnotexist")
    assert status == 1
    assert "API Gateway stage 'v1': failed" in output
    assert deployed.response_types()["fan_out"] == ["ReportBatchItemFailures"]  # the mappings were still fixed
