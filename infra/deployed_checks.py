"""What a reviewer checks in the console after a deploy, checked by code against what the project configures.

    NETWEAVE_STAGE=prod .venv/bin/python -m infra.deployed_checks --stage prod              # after chalice deploy
    NETWEAVE_STAGE=prod .venv/bin/python -m infra.deployed_checks --stage prod --leftovers  # after the teardown

For the stage, against `.chalice/config.json`, `.chalice/policy-<stage>-*.json`, `app.py` and
`infra/api-gateway.json`: every function with its memory, timeout, reserved concurrency, layers and environment; the
REST API with every route and method, its binary media types and gateway responses; each SQS event source mapping
from its queue, with `ReportBatchItemFailures`, batch size and maximum concurrency; the schedules and the EventBridge
rule; each function's IAM role with its hand-written policy. One line per check; exit status 1 with every difference.
`--leftovers` lists what of the stage still exists (functions, roles, REST APIs, rules, mappings, tables, queues,
the bucket, the infra stack) and fails if anything does. Reads only; run it with the stage's credentials.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

Json = dict[str, Any]
API_FUNCTION = "api_handler"


def _config(project: Path, stage: str) -> tuple[Json, Json]:
    config: Json = json.loads((project / ".chalice" / "config.json").read_text())
    return config, config["stages"][stage]


def _setting(config: Json, stage_config: Json, function: str, key: str) -> Any:
    for layer in (stage_config.get("lambda_functions", {}).get(function, {}), stage_config, config):
        if key in layer:
            return layer[key]
    return None


def check_functions(clients: Any, project: Path, stage: str, app: Any) -> list[str]:
    config, stage_config = _config(project, stage)
    environment = {**config.get("environment_variables", {}), **stage_config.get("environment_variables", {})}
    findings: list[str] = []
    names = [API_FUNCTION, *sorted({source.name for source in app.event_sources})]
    for function in names:
        physical = f"{config['app_name']}-{stage}" + ("" if function == API_FUNCTION else f"-{function}")
        try:
            found = clients.lambda_.get_function(FunctionName=physical)
        except clients.lambda_.exceptions.ResourceNotFoundException:
            findings.append(f"function {physical}: missing")
            continue
        deployed = found["Configuration"]
        expected = {"MemorySize": _setting(config, stage_config, function, "lambda_memory_size"),
                    "Timeout": _setting(config, stage_config, function, "lambda_timeout"),
                    "Layers": _setting(config, stage_config, function, "layers") or [],
                    "ReservedConcurrency": _setting(config, stage_config, function, "reserved_concurrency")}
        actual = {"MemorySize": deployed["MemorySize"], "Timeout": deployed["Timeout"],
                  "Layers": [layer["Arn"] for layer in deployed.get("Layers", [])],
                  "ReservedConcurrency": found.get("Concurrency", {}).get("ReservedConcurrentExecutions")}
        findings += [f"function {physical}: {key} is {actual[key]!r}, configured {value!r}"
                     for key, value in expected.items() if value is not None and actual[key] != value]
        variables = deployed.get("Environment", {}).get("Variables", {})
        findings += [f"function {physical}: environment {name} is {variables.get(name)!r}, configured {value!r}"
                     for name, value in environment.items() if variables.get(name) != value]
        findings += _check_role(clients, project, stage_config, function, deployed["Role"])
    return findings


def _check_role(clients: Any, project: Path, stage_config: Json, function: str, role_arn: str) -> list[str]:
    policy_file = stage_config.get("lambda_functions", {}).get(function, {}).get("iam_policy_file")
    if policy_file is None:
        return [f"function {function}: no iam_policy_file configured (autogen_policy must stay off)"]
    expected = json.loads((project / ".chalice" / policy_file).read_text())
    role = role_arn.rsplit("/", 1)[-1]
    documents = [clients.iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
                 for name in clients.iam.list_role_policies(RoleName=role)["PolicyNames"]]
    documents = [json.loads(d) if isinstance(d, str) else d for d in documents]
    if expected not in documents:
        return [f"role {role} of {function}: its inline policy is not {policy_file}"]
    return []


def check_rest_api(clients: Any, project: Path, stage: str, app: Any) -> list[str]:
    api_id = rest_api_id(project, stage)
    if api_id is None:
        return [f"REST API: .chalice/deployed/{stage}.json names none (was the stage deployed from here?)"]
    api = clients.apigateway.get_rest_api(restApiId=api_id)
    findings = [f"REST API: binary media type {media} missing" for media in app.api.binary_types
                if media not in api.get("binaryMediaTypes", [])]
    served: dict[str, set[str]] = {}
    for page in clients.apigateway.get_paginator("get_resources").paginate(restApiId=api_id):
        for resource in page["items"]:
            served[resource["path"]] = set(resource.get("resourceMethods", {}))
    for path, methods in app.routes.items():
        missing = set(methods) - served.get(path, set())
        findings += [f"REST API: {method} {path} missing" for method in sorted(missing)]
    from infra.gateway_responses import gateway_responses

    deployed = {r["responseType"]: r for r in clients.apigateway.get_gateway_responses(restApiId=api_id)["items"]}
    for response_type, wanted in gateway_responses(project / "infra" / "api-gateway.json").items():
        found = deployed.get(response_type, {})
        if found.get("statusCode") != wanted.get("statusCode") or \
                found.get("responseTemplates") != wanted.get("responseTemplates"):
            findings.append(f"REST API: gateway response {response_type} is not infra/api-gateway.json's "
                            "(run infra.post_deploy)")
    return findings


def check_event_sources(clients: Any, stage: str, app: Any, app_name: str) -> list[str]:
    findings: list[str] = []
    mappings = clients.lambda_.list_event_source_mappings()["EventSourceMappings"]
    rules = {rule["Name"]: rule for rule in clients.events.list_rules()["Rules"]}
    for source in app.event_sources:
        function = f"{app_name}-{stage}-{source.name}"
        if hasattr(source, "queue"):
            found = [m for m in mappings if m["FunctionArn"].endswith(f":{function}")
                     and m["EventSourceArn"].endswith(f":{source.queue}")]
            if not found:
                findings.append(f"{function}: no event source mapping from {source.queue}")
                continue
            mapping = found[0]
            if mapping.get("FunctionResponseTypes") != ["ReportBatchItemFailures"]:
                findings.append(f"{function}: mapping without ReportBatchItemFailures (run infra.post_deploy)")
            if mapping.get("BatchSize") != source.batch_size:
                findings.append(f"{function}: batch size {mapping.get('BatchSize')}, app.py says {source.batch_size}")
            concurrency = mapping.get("ScalingConfig", {}).get("MaximumConcurrency")
            if source.maximum_concurrency and concurrency != source.maximum_concurrency:
                findings.append(f"{function}: maximum concurrency {concurrency}, app.py says "
                                f"{source.maximum_concurrency}")
            continue
        rule = rules.get(f"{function}-event")
        expression = getattr(source, "schedule_expression", None)
        if rule is None:
            findings.append(f"{function}: no EventBridge rule")
        elif expression is not None and rule.get("ScheduleExpression") != _expression(expression):
            findings.append(f"{function}: schedule {rule.get('ScheduleExpression')}, app.py says {expression}")
        elif expression is None and json.loads(rule.get("EventPattern") or "{}") != source.event_pattern:
            findings.append(f"{function}: event pattern differs from app.py's")
    return findings


def _expression(expression: Any) -> str:
    return expression if isinstance(expression, str) else str(expression.to_string())


class _Clients:
    def __init__(self) -> None:
        import boto3

        self.lambda_ = boto3.client("lambda")
        self.iam = boto3.client("iam")
        self.apigateway = boto3.client("apigateway")
        self.events = boto3.client("events")


def check_stage(project: Path, stage: str, log: Callable[[str], None] = print) -> list[str]:
    sys.path.insert(0, str(project))
    import app as application

    app, clients = application.app, _Clients()
    config, _ = _config(project, stage)
    findings: list[str] = []
    checks: tuple[tuple[str, Callable[[], list[str]]], ...] = (
        ("functions and roles", lambda: check_functions(clients, project, stage, app)),
        ("REST API", lambda: check_rest_api(clients, project, stage, app)),
        ("event sources", lambda: check_event_sources(clients, stage, app, config["app_name"])))
    for name, check in checks:
        found = check()
        log(f"deployed_checks: {name}: {'ok' if not found else f'{len(found)} difference(s)'}")
        findings += found
    return findings


def rest_api_id(project: Path, stage: str) -> str | None:
    deployed_file = project / ".chalice" / "deployed" / f"{stage}.json"
    if not deployed_file.exists():
        return None
    resources = json.loads(deployed_file.read_text())["resources"]
    return next((str(r["rest_api_id"]) for r in resources if r.get("resource_type") == "rest_api"), None)


def leftovers(stage: str, rest_api_id: str | None = None, app_name: str = "netweave") -> list[str]:
    import boto3

    prefix = f"{app_name}-{stage}"
    found = [f"function {f['FunctionName']}" for f in boto3.client("lambda").list_functions()["Functions"]
             if f["FunctionName"].startswith(prefix)]
    found += [f"role {r['RoleName']}" for r in boto3.client("iam").list_roles()["Roles"]
              if r["RoleName"].startswith(prefix)]
    if rest_api_id:  # every stage's REST API is named after the app: only its id tells this stage's
        found += [f"REST API {a['id']}" for a in boto3.client("apigateway").get_rest_apis()["items"]
                  if a["id"] == rest_api_id]
    found += [f"rule {r['Name']}" for r in boto3.client("events").list_rules(NamePrefix=prefix)["Rules"]]
    found += [f"table {t}" for t in boto3.client("dynamodb").list_tables()["TableNames"] if t.startswith(prefix)]
    found += [f"queue {q}" for q in boto3.client("sqs").list_queues(QueueNamePrefix=prefix).get("QueueUrls", [])]
    found += [f"bucket {b['Name']}" for b in boto3.client("s3").list_buckets()["Buckets"]
              if b["Name"].startswith(prefix)]
    stacks = boto3.client("cloudformation").list_stacks()["StackSummaries"]
    found += [f"stack {s['StackName']} ({s['StackStatus']})" for s in stacks
              if s["StackName"] == f"{prefix}-infra" and s["StackStatus"] != "DELETE_COMPLETE"]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check a deployed stage against what the project configures.")
    parser.add_argument("--stage", required=True)
    parser.add_argument("--project-dir", type=Path, default=Path.cwd())
    parser.add_argument("--leftovers", action="store_true", help="after a teardown: list what of the stage remains")
    parser.add_argument("--rest-api-id", help="with --leftovers: the REST API the stage had")
    args = parser.parse_args(argv)
    findings = leftovers(args.stage, args.rest_api_id) if args.leftovers else check_stage(args.project_dir, args.stage)
    for finding in findings:
        print(f"  {finding}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
