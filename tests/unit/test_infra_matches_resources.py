"""The `infra/` templates agree with `chalicelib/resources.py`, the one definition of tables, queues and buckets.

These read the committed files and compare them with resources.py directly (not with the generator), so a template
that was not regenerated after a change to resources.py fails here, whoever or whatever wrote it. The last section
tests the pure part of `infra/stack_outputs.py` (stack outputs -> `.chalice/config.json`).
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from chalicelib import resources
from infra import gateway_responses, generate, monitoring, stack_outputs

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"
API_GATEWAY = ROOT / "infra" / "api-gateway.json"
# Resolve names for a stage other than the default, so a name hard-coded to "dev" in the template shows up.
STAGE = "prod"

Json = dict[str, Any]
TABLE, QUEUE, BUCKET = "AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::S3::Bucket"
BUCKET_POLICY, SECRET = "AWS::S3::BucketPolicy", "AWS::SecretsManager::Secret"
# Monitoring (tests/unit/test_infra_monitoring.py): named after the stage, but no storage.
ALARM, DASHBOARD, TOPIC = "AWS::CloudWatch::Alarm", "AWS::CloudWatch::Dashboard", "AWS::SNS::Topic"
NAME_PROPERTY = {TABLE: "TableName", QUEUE: "QueueName", BUCKET: "BucketName", SECRET: "Name"}


@pytest.fixture(scope="module")
def template() -> Json:
    loaded: Json = yaml.safe_load(TEMPLATE.read_text())
    return loaded


# ---- a tiny evaluator for the intrinsics names use --------------------------------------------------------------

def _resolve(value: Any, template: Json, parameters: dict[str, str]) -> Any:
    """Evaluate `Fn::Sub` (over parameters only), `Ref` of a parameter, and `Fn::If` / `Fn::Equals`, as
    CloudFormation would for these parameter values; anything else fails the test."""
    if isinstance(value, str):
        return value
    assert isinstance(value, dict) and len(value) == 1, f"unexpected name expression {value!r}"
    (function, argument), = value.items()
    if function == "Fn::Sub":
        referenced = set(re.findall(r"\$\{([^}]*)\}", argument))
        assert referenced <= set(parameters), f"{argument} refers to {referenced - set(parameters)}"
        return re.sub(r"\$\{([^}]*)\}", lambda m: parameters[m[1]], argument)
    if function == "Ref":
        assert argument in parameters, f"Ref {argument} is not a parameter"
        return parameters[argument]
    if function == "Fn::If":
        condition, if_true, if_false = argument
        chosen = if_true if _resolve(template["Conditions"][condition], template, parameters) else if_false
        return _resolve(chosen, template, parameters)
    if function == "Fn::Equals":
        left, right = (_resolve(side, template, parameters) for side in argument)
        return left == right
    raise AssertionError(f"names must use Fn::Sub/Ref/Fn::If over parameters only, not {function}")


def _parameters(template: Json, **overrides: str) -> dict[str, str]:
    values = {name: str(spec.get("Default", "")) for name, spec in template["Parameters"].items()}
    return {**values, "Stage": STAGE, **overrides}


def _physical_names(template: Json, **overrides: str) -> dict[tuple[str, str], str]:
    """(type, physical name) -> logical id, for every named resource."""
    parameters = _parameters(template, **overrides)
    found: dict[tuple[str, str], str] = {}
    for logical_id, body in template["Resources"].items():
        kind = body["Type"]
        if kind in NAME_PROPERTY:
            name = body["Properties"][NAME_PROPERTY[kind]]
            found[(kind, _resolve(name, template, parameters))] = logical_id
    return found


def _find(template: Json, kind: str, physical: str, **overrides: str) -> tuple[str, Json]:
    logical_id = _physical_names(template, **overrides).get((kind, physical))
    assert logical_id, f"infra/template.yaml has no {kind} named {physical}; regenerate: python -m infra.generate"
    properties: Json = template["Resources"][logical_id]["Properties"]
    return logical_id, properties


def _keys(schema: list[Json]) -> list[tuple[str, str]]:
    return [(key["AttributeName"], key["KeyType"]) for key in schema]


def _expected_keys(partition_key: str, sort_key: str | None) -> list[tuple[str, str]]:
    return [(partition_key, "HASH")] + ([(sort_key, "RANGE")] if sort_key else [])


# ---- the generated template is the committed one --------------------------------------------------------------

def test_committed_template_is_the_generator_output() -> None:
    assert TEMPLATE.read_text() == generate.render(), (
        "infra/template.yaml is stale: python -m infra.generate > infra/template.yaml"
    )


def test_committed_gateway_responses_are_the_generator_output() -> None:
    assert API_GATEWAY.read_text() == gateway_responses.render_api_gateway(), (
        "infra/api-gateway.json is stale: python -m infra.generate --api-gateway > infra/api-gateway.json"
    )


def test_check_flag_passes_on_the_committed_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert generate.main(["--check"]) == 0
    assert capsys.readouterr().err == ""


def test_template_uses_no_yaml_tags_or_aliases() -> None:
    text = TEMPLATE.read_text()
    assert not re.search(r"(^|\s)!\w", text), "short-form intrinsics (!Sub) cannot be read by yaml.safe_load"
    assert not re.search(r"[&*]id\d+", text), "CloudFormation rejects YAML anchors and aliases"


# ---- cfn-lint ------------------------------------------------------------------------------------------------

def _lint_errors(text: str) -> list[str]:
    from cfnlint.api import ManualArgs, lint

    matches = lint(text, config=ManualArgs(regions=["us-east-1"]))
    # cfn-lint rule ids: E = error, W = warning, I = informational. Warnings fail too: the template is ours.
    return [f"{m.rule.id} {m.message} (line {m.linenumber})" for m in matches if m.rule.id[0] in "EW"]


def test_cfn_lint_passes_on_the_template() -> None:
    assert _lint_errors(TEMPLATE.read_text()) == []


# ---- parameters ----------------------------------------------------------------------------------------------

def test_stage_parameter_defaults_to_dev(template: Json) -> None:
    assert template["Parameters"]["Stage"]["Type"] == "String"
    assert template["Parameters"]["Stage"]["Default"] == "dev"


def test_packages_bucket_defaults_to_the_name_the_code_derives_and_can_be_overridden(template: Json) -> None:
    default = resources.physical_name(STAGE, resources.PACKAGES_BUCKET.logical_name)
    assert template["Parameters"]["PackagesBucketName"]["Default"] == ""
    _find(template, BUCKET, default)
    logical_id, _ = _find(template, BUCKET, "operator-chosen-bucket", PackagesBucketName="operator-chosen-bucket")
    assert logical_id == generate.bucket_id(resources.PACKAGES_BUCKET)


# ---- tables --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("table", resources.TABLES, ids=lambda t: t.logical_name)
def test_table_keys_and_indexes(template: Json, table: resources.Table) -> None:
    _, properties = _find(template, TABLE, resources.physical_name(STAGE, table.logical_name))
    assert _keys(properties["KeySchema"]) == _expected_keys(table.partition_key, table.sort_key)
    attributes = {a["AttributeName"]: a["AttributeType"] for a in properties["AttributeDefinitions"]}
    assert attributes == {name: table.attribute_type(name) for name in table.key_attributes()}
    indexes = {i["IndexName"]: i for i in properties.get("GlobalSecondaryIndexes", [])}
    assert set(indexes) == {index.name for index in table.indexes}
    for index in table.indexes:
        assert _keys(indexes[index.name]["KeySchema"]) == _expected_keys(index.partition_key, index.sort_key)
        assert indexes[index.name]["Projection"] == index.projection()
    assert "LocalSecondaryIndexes" not in properties


@pytest.mark.parametrize("table", resources.TABLES, ids=lambda t: t.logical_name)
def test_table_ttl_recovery_encryption_and_retention(template: Json, table: resources.Table) -> None:
    logical_id, properties = _find(template, TABLE, resources.physical_name(STAGE, table.logical_name))
    if table.ttl_attribute:
        assert properties["TimeToLiveSpecification"] == {"AttributeName": table.ttl_attribute, "Enabled": True}
    else:
        assert "TimeToLiveSpecification" not in properties
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"]["SSEEnabled"] is True
    body = template["Resources"][logical_id]
    assert body["DeletionPolicy"] == body["UpdateReplacePolicy"] == "Retain"


# ---- queues --------------------------------------------------------------------------------------------------

def _assert_queue_basics(properties: Json, queue: resources.Queue, physical: str) -> None:
    assert bool(properties.get("FifoQueue", False)) is queue.fifo
    assert physical.endswith(".fifo") is queue.fifo
    if queue.fifo:
        assert properties["ContentBasedDeduplication"] is False
    assert properties["MessageRetentionPeriod"] == queue.retention_seconds
    assert properties["SqsManagedSseEnabled"] is True


@pytest.mark.parametrize("queue", resources.QUEUES, ids=lambda q: q.logical_name)
def test_queue_settings(template: Json, queue: resources.Queue) -> None:
    physical = resources.queue_name(STAGE, queue)
    _, properties = _find(template, QUEUE, physical)
    _assert_queue_basics(properties, queue, physical)
    assert properties["VisibilityTimeout"] == queue.visibility_timeout_seconds


@pytest.mark.parametrize("queue", resources.QUEUES, ids=lambda q: q.logical_name)
def test_queue_redrives_to_its_own_dlq(template: Json, queue: resources.Queue) -> None:
    _, properties = _find(template, QUEUE, resources.queue_name(STAGE, queue))
    dlq_physical = resources.queue_name(STAGE, queue, dead_letter=True)
    dlq_id, dlq_properties = _find(template, QUEUE, dlq_physical)
    assert properties["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": queue.max_receive_count,
    }
    _assert_queue_basics(dlq_properties, queue, dlq_physical)
    # A DLQ that itself redrove somewhere would hide poison messages from operators.
    assert "RedrivePolicy" not in dlq_properties


def test_queue_visibility_is_six_times_the_consuming_function_timeout_configured_in_chalice(template: Json) -> None:
    chalice = json.loads((ROOT / ".chalice" / "config.json").read_text())
    consumers = {"fan_out": resources.EVENTS, "deliver": resources.DELIVERIES,
                 "run_dms_operation": resources.DMS_OPERATIONS}
    for function, queue in consumers.items():
        _, properties = _find(template, QUEUE, resources.queue_name(STAGE, queue))
        assert properties["VisibilityTimeout"] >= 6 * resources.FUNCTION_TIMEOUTS[function], function
    for stage, settings in chalice["stages"].items():
        for function, queue in consumers.items():
            timeout = settings["lambda_functions"][function]["lambda_timeout"]
            assert timeout == resources.FUNCTION_TIMEOUTS[function], (stage, function)
            assert queue.visibility_timeout_seconds >= 6 * timeout, (stage, function)


# ---- bucket --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bucket", resources.BUCKETS, ids=lambda b: b.logical_name)
def test_bucket_is_private_versioned_encrypted_and_retained(template: Json, bucket: resources.Bucket) -> None:
    logical_id, properties = _find(template, BUCKET, resources.physical_name(STAGE, bucket.logical_name))
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    rules = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rules and all(rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] for rule in rules)
    body = template["Resources"][logical_id]
    assert body["DeletionPolicy"] == body["UpdateReplacePolicy"] == "Retain"


@pytest.mark.parametrize("bucket", resources.BUCKETS, ids=lambda b: b.logical_name)
def test_bucket_policy_denies_requests_without_tls(template: Json, bucket: resources.Bucket) -> None:
    logical_id = generate.bucket_id(bucket)
    policies = [body["Properties"] for body in template["Resources"].values()
                if body["Type"] == BUCKET_POLICY and body["Properties"]["Bucket"] == {"Ref": logical_id}]
    assert len(policies) == 1, f"one bucket policy for {logical_id}"
    statements = policies[0]["PolicyDocument"]["Statement"]
    insecure = [s for s in statements if s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}]
    assert len(insecure) == 1
    assert insecure[0]["Effect"] == "Deny" and insecure[0]["Principal"] == "*" and insecure[0]["Action"] == "s3:*"
    assert insecure[0]["Resource"] == [{"Fn::GetAtt": [logical_id, "Arn"]}, {"Fn::Sub": f"${{{logical_id}.Arn}}/*"}]
    assert all(s["Effect"] == "Deny" for s in statements), "the policy only denies; access is granted by IAM"


# ---- secrets -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("secret", generate.SECRETS, ids=lambda s: s.suffix)
def test_secrets_are_generated_never_written_in_the_repository(template: Json, secret: generate.Secret) -> None:
    _, properties = _find(template, SECRET, secret.name(STAGE))
    assert "SecretString" not in properties, "a value in the template is a value in git"
    assert properties["GenerateSecretString"]["PasswordLength"] >= 32


@pytest.mark.parametrize("secret", generate.SECRETS, ids=lambda s: s.suffix)
def test_secret_parameter_names_are_what_the_code_reads_and_the_stage_policy_covers(secret: generate.Secret) -> None:
    # Components.secret() calls ssm.get_parameter(WithDecryption=True): Parameter Store serves Secrets Manager
    # secrets under /aws/reference/secretsmanager/<secret name>.
    assert secret.parameter_name(STAGE) == f"/aws/reference/secretsmanager/netweave/{STAGE}/{secret.suffix}"
    assert secret.name(STAGE).startswith(f"netweave/{STAGE}/")


# ---- nothing else --------------------------------------------------------------------------------------------

def _used_by_the_code() -> set[str]:
    """Names of resources.py the application code refers to: `resources.NAME` or `from chalicelib.resources import
    NAME`, as Python reads them (docstrings and comments do not count)."""
    used: set[str] = set()
    for path in [ROOT / "app.py", *(ROOT / "chalicelib").rglob("*.py")]:
        if path == ROOT / "chalicelib" / "resources.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "resources":
                used.add(node.attr)
            elif isinstance(node, ast.ImportFrom) and node.module == "chalicelib.resources":
                used.update(alias.name for alias in node.names)
    return used


def test_every_table_queue_and_bucket_is_used_by_the_code() -> None:
    """A resource only the readiness check and the templates know of (reached through TABLES/QUEUES/BUCKETS alone)
    costs money and permissions for nothing: nothing reads or writes it."""
    defined = {name for name, value in vars(resources).items()
               if isinstance(value, (resources.Table, resources.Queue, resources.Bucket))}
    assert defined, "resources.py defines no table, queue or bucket?"
    assert defined - _used_by_the_code() == set(), "defined in resources.py but used by no code"


def _defined_in_resources_py() -> set[tuple[str, str]]:
    expected: set[tuple[str, str]] = {
        (TABLE, resources.physical_name(STAGE, t.logical_name)) for t in resources.TABLES
    }
    for queue in resources.QUEUES:
        expected |= {(QUEUE, resources.queue_name(STAGE, queue)), (QUEUE, resources.queue_name(STAGE, queue, True))}
    expected |= {(BUCKET, resources.physical_name(STAGE, b.logical_name)) for b in resources.BUCKETS}
    return expected


def test_template_defines_nothing_resources_py_does_not(template: Json) -> None:
    names = _physical_names(template)
    storage = {key for key in names if key[0] in (TABLE, QUEUE, BUCKET)}
    assert storage - _defined_in_resources_py() == set(), "in infra/template.yaml but not in resources.py"
    assert _defined_in_resources_py() - storage == set(), "in resources.py but not in infra/template.yaml"
    assert {key for key in names if key[0] == SECRET} == {(SECRET, s.name(STAGE)) for s in generate.SECRETS}
    named = [body for body in template["Resources"].values() if body["Type"] in NAME_PROPERTY]
    assert len(names) == len(named), "two resources share a name"
    kinds = {body["Type"] for body in template["Resources"].values()}
    # No AWS::Events::Rule: Chalice creates the cluster-change rule from @app.on_cw_event; a second one here would
    # poll twice per event.
    assert kinds == {TABLE, QUEUE, BUCKET, BUCKET_POLICY, SECRET, ALARM, DASHBOARD, TOPIC}


def test_outputs_name_every_resource_and_every_parameter(template: Json) -> None:
    parameters = _parameters(template)
    values = {key: _resolve(output["Value"], template, parameters) if "Fn::Sub" in output["Value"] else output["Value"]
              for key, output in template["Outputs"].items() if key not in monitoring.outputs()}
    assert values["Stage"] == {"Ref": "Stage"}
    for table in resources.TABLES:
        rid = generate.table_id(table)
        assert values[f"{rid}Name"] == {"Ref": rid} and values[f"{rid}Arn"] == {"Fn::GetAtt": [rid, "Arn"]}
    for queue in resources.QUEUES:
        for dead_letter in (False, True):
            rid = generate.queue_id(queue, dead_letter)
            assert values[f"{rid}Name"] == {"Fn::GetAtt": [rid, "QueueName"]}
            assert values[f"{rid}Url"] == {"Ref": rid}
            assert values[f"{rid}Arn"] == {"Fn::GetAtt": [rid, "Arn"]}
    for bucket in resources.BUCKETS:
        rid = generate.bucket_id(bucket)
        assert values[f"{rid}Name"] == {"Ref": rid} and values[f"{rid}Arn"] == {"Fn::GetAtt": [rid, "Arn"]}
    for secret in generate.SECRETS:
        assert values[f"{secret.logical_id}Name"] == secret.name(STAGE)
        assert values[f"{secret.logical_id}ParameterName"] == secret.parameter_name(STAGE)
        assert values[f"{secret.logical_id}Arn"] == {"Ref": secret.logical_id}
    expected = 1 + 2 * len(resources.TABLES) + 6 * len(resources.QUEUES) + 2 * len(resources.BUCKETS)
    assert len(values) == expected + 3 * len(generate.SECRETS), "an output refers to something not listed here"


# ---- gateway responses ---------------------------------------------------------------------------------------

DOCUMENTED_RESPONSE_TYPES = {
    "DEFAULT_4XX", "DEFAULT_5XX", "RESOURCE_NOT_FOUND", "UNAUTHORIZED", "INVALID_API_KEY", "ACCESS_DENIED",
    "AUTHORIZER_FAILURE", "AUTHORIZER_CONFIGURATION_ERROR", "INVALID_SIGNATURE", "EXPIRED_TOKEN",
    "MISSING_AUTHENTICATION_TOKEN", "INTEGRATION_FAILURE", "INTEGRATION_TIMEOUT", "API_CONFIGURATION_ERROR",
    "UNSUPPORTED_MEDIA_TYPE", "BAD_REQUEST_PARAMETERS", "BAD_REQUEST_BODY", "REQUEST_TOO_LARGE", "THROTTLED",
    "QUOTA_EXCEEDED", "WAF_FILTERED",
}  # API Gateway's GatewayResponse.responseType values


def _gateway_responses() -> dict[str, Json]:
    template: Json = json.loads(API_GATEWAY.read_text())
    responses: dict[str, Json] = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"][
        "x-amazon-apigateway-gateway-responses"]
    return responses


def test_gateway_responses_merge_into_the_api_definition_and_nothing_else() -> None:
    # Chalice deep-merges this file into its SAM template: only the REST API's definition may change, and only by
    # the gateway responses extension (separate GatewayResponse resources are reset by every API redeploy).
    template: Json = json.loads(API_GATEWAY.read_text())
    assert list(template) == ["Resources"]
    assert list(template["Resources"]) == ["RestAPI"]
    assert list(template["Resources"]["RestAPI"]) == ["Properties"]
    assert list(template["Resources"]["RestAPI"]["Properties"]) == ["DefinitionBody"]
    assert list(template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]) == [
        "x-amazon-apigateway-gateway-responses"]
    assert set(_gateway_responses()) <= DOCUMENTED_RESPONSE_TYPES


@pytest.mark.parametrize(
    ("response_type", "status"),
    [("MISSING_AUTHENTICATION_TOKEN", 404), ("ACCESS_DENIED", 403), ("UNAUTHORIZED", 401),
     ("REQUEST_TOO_LARGE", 413), ("THROTTLED", 429), ("DEFAULT_4XX", 400), ("INTEGRATION_FAILURE", 502),
     ("DEFAULT_5XX", 502), ("INTEGRATION_TIMEOUT", 504)],
)
def test_gateway_answers_with_the_status_an_smo_expects(response_type: str, status: int) -> None:
    # Unknown paths come as MISSING_AUTHENTICATION_TOKEN (403) from API Gateway; the SMO must see a 404.
    assert _gateway_responses()[response_type]["statusCode"] == str(status)


@pytest.mark.parametrize("response_type", sorted(_gateway_responses()))
def test_every_gateway_response_is_problem_details_matching_its_status(response_type: str) -> None:
    response = _gateway_responses()[response_type]
    assert set(response) == {"statusCode", "responseParameters", "responseTemplates"}
    assert re.fullmatch(r"[1-5]\d\d", response["statusCode"])
    assert response["responseParameters"]["gatewayresponse.header.Content-Type"] == "'application/problem+json'"
    assert set(response["responseTemplates"]) == {"application/json"}, "the local stack reads this key"
    problem = json.loads(response["responseTemplates"]["application/json"])
    assert set(problem) == {"type", "title", "status", "detail"}
    assert problem["status"] == int(response["statusCode"])
    assert problem["type"].startswith("https://netweave.io/problems/")


def test_every_4xx_type_is_listed_so_the_default_status_changes_no_other() -> None:
    # Setting DEFAULT_4XX's status changes the status of every 4xx type not customised itself.
    documented_4xx = {"ACCESS_DENIED", "BAD_REQUEST_PARAMETERS", "BAD_REQUEST_BODY", "EXPIRED_TOKEN",
                      "INVALID_API_KEY", "INVALID_SIGNATURE", "MISSING_AUTHENTICATION_TOKEN", "QUOTA_EXCEEDED",
                      "REQUEST_TOO_LARGE", "RESOURCE_NOT_FOUND", "THROTTLED", "UNAUTHORIZED",
                      "UNSUPPORTED_MEDIA_TYPE", "WAF_FILTERED"}
    assert documented_4xx <= set(_gateway_responses())


def test_unauthorized_tells_the_client_to_bring_a_bearer_token() -> None:
    response = _gateway_responses()["UNAUTHORIZED"]
    assert response["responseParameters"]["gatewayresponse.header.WWW-Authenticate"].startswith("'Bearer")


def test_gateway_responses_can_be_put_on_an_api_chalice_deploy_created() -> None:
    requests = {r["responseType"]: r for r in gateway_responses.gateway_response_requests()}
    assert set(requests) == set(_gateway_responses())
    assert requests["MISSING_AUTHENTICATION_TOKEN"]["statusCode"] == "404"
    assert all(set(r) == {"responseType", "statusCode", "responseParameters", "responseTemplates"}
               for r in requests.values())


def test_the_local_stack_serves_the_same_gateway_response() -> None:
    from devtools.localstack.gateway import gateway_response

    status, headers, body = gateway_response("MISSING_AUTHENTICATION_TOKEN")
    assert status == 404
    assert headers == {"Content-Type": "application/problem+json"}
    assert json.loads(body)["status"] == 404


# ---- stack_outputs: stack outputs -> .chalice/config.json (the pure part) -------------------------------------

def _outputs(stage: str, bucket: str | None = None) -> dict[str, str]:
    """What the stack deployed for `stage` outputs (the keys stack_outputs reads)."""
    outputs = {"Stage": stage, **stack_outputs.expected_names(stage)}
    outputs["PackagesBucketName"] = bucket or resources.physical_name(stage, "packages")
    for secret in generate.SECRETS:
        outputs[f"{secret.logical_id}ParameterName"] = secret.parameter_name(stage)
    for queue in resources.QUEUES:
        for dead_letter in (False, True):
            name = resources.queue_name(stage, queue, dead_letter)
            outputs[f"{generate.queue_id(queue, dead_letter)}Url"] = f"{QUEUE_URL_PREFIX}{name}"
    return outputs


QUEUE_URL_PREFIX = "https://sqs.eu-west-1.amazonaws.com/210987654321/"


def test_the_queue_url_prefix_is_what_every_queue_url_shares_and_a_stray_url_is_refused() -> None:
    outputs = _outputs("dev")
    assert stack_outputs.environment_changes(outputs, "dev", {}).assign["NETWEAVE_QUEUE_URL_PREFIX"] == QUEUE_URL_PREFIX
    stray = generate.queue_id(resources.DELIVERIES, True)
    outputs[f"{stray}Url"] = outputs[f"{stray}Url"].replace("210987654321", "111111111111")
    with pytest.raises(stack_outputs.StackMismatch, match="do not share one prefix"):
        stack_outputs.environment_changes(outputs, "dev", {})


CONFIG: Json = {
    "version": "2.0",
    "environment_variables": {"POWERTOOLS_SERVICE_NAME": "netweave"},
    "stages": {
        "dev": {"api_gateway_stage": "api", "environment_variables": {
            "NETWEAVE_STAGE": "dev", "NETWEAVE_AUTH_SECRET_SSM_PARAMETER": "/netweave/dev/jwt-secret",
            "NETWEAVE_PACKAGES_BUCKET": "stale-bucket"}},
        "prod": {"environment_variables": {"NETWEAVE_STAGE": "prod", "NETWEAVE_AUTH_JWKS_URL": "https://idp/certs"},
                 "lambda_functions": {"deliver": {"lambda_timeout": 120}}},
    },
}


def test_outputs_become_the_stage_environment() -> None:
    text, _ = stack_outputs.updated_config_text(json.dumps(CONFIG), "dev", _outputs("dev"))
    updated = json.loads(text)
    assert updated["stages"]["dev"]["environment_variables"] == {
        "NETWEAVE_STAGE": "dev",
        "NETWEAVE_AUTH_SECRET_SSM_PARAMETER": "/aws/reference/secretsmanager/netweave/dev/jwt-secret",
        "NETWEAVE_SMO_CLIENT_SECRET_SSM_PARAMETER": "/aws/reference/secretsmanager/netweave/dev/smo-client-secret",
        "NETWEAVE_MARKER_SECRET_SSM_PARAMETER": "/aws/reference/secretsmanager/netweave/dev/marker-secret",
        "NETWEAVE_QUEUE_URL_PREFIX": QUEUE_URL_PREFIX,
    }, "the default bucket name needs no override, so a stale one is removed"
    assert {k: v for k, v in updated.items() if k != "stages"} == {k: v for k, v in CONFIG.items() if k != "stages"}
    assert updated["stages"]["prod"] == CONFIG["stages"]["prod"], "another stage is left alone"


def test_a_bucket_with_its_own_name_is_configured() -> None:
    changes = stack_outputs.environment_changes(_outputs("dev", bucket="acme-netweave-charts"), "dev", {})
    assert changes.assign["NETWEAVE_PACKAGES_BUCKET"] == "acme-netweave-charts"
    assert "NETWEAVE_PACKAGES_BUCKET" not in changes.remove


def test_a_stage_verifying_tokens_with_jwks_gets_no_shared_secret() -> None:
    text, changes = stack_outputs.updated_config_text(json.dumps(CONFIG), "prod", _outputs("prod"))
    environment = json.loads(text)["stages"]["prod"]["environment_variables"]
    assert "NETWEAVE_AUTH_SECRET_SSM_PARAMETER" not in environment
    assert environment["NETWEAVE_SMO_CLIENT_SECRET_SSM_PARAMETER"].endswith("netweave/prod/smo-client-secret")
    assert environment["NETWEAVE_AUTH_JWKS_URL"] == "https://idp/certs"
    assert any("NETWEAVE_AUTH_JWKS_URL" in note for note in changes.notes)


def test_a_plain_secret_in_config_that_would_win_is_pointed_out() -> None:
    changes = stack_outputs.environment_changes(_outputs("dev"), "dev", {"NETWEAVE_AUTH_SECRET": "x"})
    assert any("NETWEAVE_AUTH_SECRET " in note for note in changes.notes)


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        (_outputs("prod"), "Stage=prod, not dev"),
        ({**_outputs("dev"), "EventsQueueName": "netweave-dev-events"}, "EventsQueueName"),
        ({k: v for k, v in _outputs("dev").items() if k != "InventoryTableName"}, "InventoryTableName"),
        ({k: v for k, v in _outputs("dev").items() if k != "AuthSecretParameterName"}, "no output"),
    ],
    ids=["other-stage", "renamed-queue", "missing-table", "older-template"],
)
def test_a_stack_that_does_not_match_the_code_is_refused(outputs: dict[str, str], message: str) -> None:
    with pytest.raises(stack_outputs.StackMismatch, match=message):
        stack_outputs.environment_changes(outputs, "dev", {})


def test_a_stage_missing_from_config_is_refused() -> None:
    with pytest.raises(stack_outputs.StackMismatch, match=r"not in \.chalice/config\.json"):
        stack_outputs.updated_config_text(json.dumps(CONFIG), "qa", _outputs("qa"))


def test_rewriting_the_committed_config_keeps_its_formatting() -> None:
    text = (ROOT / ".chalice" / "config.json").read_text()
    assert stack_outputs.render_config(json.loads(text)) == text
    assert stack_outputs.config_diff(text, text) == ""


def test_the_helm_layer_arn_replaces_the_placeholder_of_the_stages_helm_functions_only() -> None:
    committed = json.loads((ROOT / ".chalice" / "config.json").read_text())
    arn = "arn:aws:lambda:eu-west-1:444455556666:layer:netweave-helm:7"
    text, _ = stack_outputs.updated_config_text(json.dumps(committed), "dev", _outputs("dev"), helm_layer=arn)
    functions = json.loads(text)["stages"]["dev"]["lambda_functions"]
    assert {name for name, f in functions.items() if f.get("layers") == [arn]} == {
        "api_handler", "run_dms_operation", "poll_deployments"}
    assert all("layers" not in f for name, f in functions.items() if name not in {
        "api_handler", "run_dms_operation", "poll_deployments"})
    untouched = json.loads(text)["stages"]["prod"]["lambda_functions"]["api_handler"]["layers"]
    assert untouched == [stack_outputs.HELM_LAYER_PLACEHOLDER], "another stage keeps its own"


def test_the_committed_config_names_no_account_and_a_wrong_layer_arn_is_refused() -> None:
    config_text = (ROOT / ".chalice" / "config.json").read_text()
    assert not re.search(r"arn:aws:[a-z]+:[a-z0-9-]*:\d{12}:", config_text), "an account id in .chalice/config.json"
    with pytest.raises(stack_outputs.StackMismatch, match="not a version ARN of the netweave-helm layer"):
        stack_outputs.updated_config_text(config_text, "dev", _outputs("dev"),
                                          helm_layer="arn:aws:lambda:eu-west-1:444455556666:layer:other:1")
