"""The `infra/` templates agree with `chalicelib/resources.py`, the one definition of tables, queues and buckets.

These read the committed JSON and compare it with resources.py directly (not with the generator), so a template
that was not regenerated after a change to resources.py fails here, whoever or whatever wrote it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from chalicelib import resources

ROOT = Path(__file__).resolve().parents[2]
STORAGE = ROOT / "infra" / "storage.json"
API_GATEWAY = ROOT / "infra" / "api-gateway.json"
# Resolve names for a stage other than the default, so a name hard-coded to "dev" in the template shows up.
STAGE = "prod"

Json = dict[str, Any]
TABLE, QUEUE, BUCKET = "AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::S3::Bucket"
NAME_PROPERTY = {TABLE: "TableName", QUEUE: "QueueName", BUCKET: "BucketName"}


@pytest.fixture(scope="module")
def template() -> Json:
    loaded: Json = json.loads(STORAGE.read_text())
    return loaded


def _resolve(name: Any, stage: str = STAGE) -> str:
    """A physical name as CloudFormation renders `{"Fn::Sub": "...${Stage}..."}` for `stage`."""
    assert isinstance(name, dict) and set(name) == {"Fn::Sub"}, f"name must be a Fn::Sub over Stage: {name!r}"
    text: str = name["Fn::Sub"]
    assert set(re.findall(r"\$\{([^}]*)\}", text)) == {"Stage"}, f"name must depend on ${{Stage}} only: {text}"
    return text.replace("${Stage}", stage)


def _physical_names(template: Json) -> dict[tuple[str, str | None], str]:
    """(type, physical name) -> logical id, for every resource; a resource without a name maps to None."""
    found: dict[tuple[str, str | None], str] = {}
    for logical_id, body in template["Resources"].items():
        kind = body["Type"]
        name = body.get("Properties", {}).get(NAME_PROPERTY.get(kind, ""))
        found[(kind, _resolve(name) if name is not None else None)] = logical_id
    return found


def _find(template: Json, kind: str, physical: str) -> tuple[str, Json]:
    logical_id = _physical_names(template).get((kind, physical))
    assert logical_id, f"infra/storage.json has no {kind} named {physical}; regenerate: python -m infra.generate"
    properties: Json = template["Resources"][logical_id]["Properties"]
    return logical_id, properties


def _keys(schema: list[Json]) -> list[tuple[str, str]]:
    return [(key["AttributeName"], key["KeyType"]) for key in schema]


def _expected_keys(partition_key: str, sort_key: str | None) -> list[tuple[str, str]]:
    return [(partition_key, "HASH")] + ([(sort_key, "RANGE")] if sort_key else [])


def test_stage_parameter_defaults_to_dev(template: Json) -> None:
    assert template["Parameters"]["Stage"]["Type"] == "String"
    assert template["Parameters"]["Stage"]["Default"] == "dev"


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


@pytest.mark.parametrize("table", resources.TABLES, ids=lambda t: t.logical_name)
def test_table_ttl_and_protection(template: Json, table: resources.Table) -> None:
    _, properties = _find(template, TABLE, resources.physical_name(STAGE, table.logical_name))
    if table.ttl_attribute:
        assert properties["TimeToLiveSpecification"] == {"AttributeName": table.ttl_attribute, "Enabled": True}
    else:
        assert "TimeToLiveSpecification" not in properties
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"]["SSEEnabled"] is True


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


@pytest.mark.parametrize("bucket", resources.BUCKETS, ids=lambda b: b.logical_name)
def test_bucket_is_private_versioned_encrypted(template: Json, bucket: resources.Bucket) -> None:
    _, properties = _find(template, BUCKET, resources.physical_name(STAGE, bucket.logical_name))
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    rules = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rules and all(rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] for rule in rules)


def _defined_in_resources_py() -> set[tuple[str, str | None]]:
    expected: set[tuple[str, str | None]] = {
        (TABLE, resources.physical_name(STAGE, t.logical_name)) for t in resources.TABLES
    }
    for queue in resources.QUEUES:
        expected |= {(QUEUE, resources.queue_name(STAGE, queue)), (QUEUE, resources.queue_name(STAGE, queue, True))}
    expected |= {(BUCKET, resources.physical_name(STAGE, b.logical_name)) for b in resources.BUCKETS}
    return expected


def test_template_defines_nothing_resources_py_does_not(template: Json) -> None:
    in_template = set(_physical_names(template))
    assert len(in_template) == len(template["Resources"]), "two resources share one physical name"
    assert in_template - _defined_in_resources_py() == set(), "in infra/storage.json but not in resources.py"
    assert _defined_in_resources_py() - in_template == set(), "in resources.py but not in infra/storage.json"


def test_outputs_give_name_or_url_and_arn_of_every_resource(template: Json) -> None:
    values = [json.dumps(output["Value"], sort_keys=True) for output in template["Outputs"].values()]
    for logical_id in template["Resources"]:
        assert json.dumps({"Ref": logical_id}) in values, f"no output for the name/URL of {logical_id}"
        assert json.dumps({"Fn::GetAtt": [logical_id, "Arn"]}) in values, f"no output for the ARN of {logical_id}"
    assert len(values) == 2 * len(template["Resources"]), "an output refers to something that is not a resource"


def test_committed_template_is_the_generator_output() -> None:
    from infra.generate import render

    assert STORAGE.read_text() == render(), "infra/storage.json is stale: python -m infra.generate > infra/storage.json"


def _gateway_responses() -> dict[str, Json]:
    template: Json = json.loads(API_GATEWAY.read_text())
    return {
        body["Properties"]["ResponseType"]: body["Properties"]
        for body in template["Resources"].values()
        if body["Type"] == "AWS::ApiGateway::GatewayResponse"
    }


def test_unknown_paths_answer_404_problem_details() -> None:
    # API Gateway answers an unknown path with MISSING_AUTHENTICATION_TOKEN (403); the SMO must see a 404.
    response = _gateway_responses()["MISSING_AUTHENTICATION_TOKEN"]
    assert response["StatusCode"] == "404"
    assert response["ResponseParameters"]["gatewayresponse.header.Content-Type"] == "'application/problem+json'"
    assert response["ResponseTemplates"], "no body template"
    for body in response["ResponseTemplates"].values():
        problem = json.loads(body)
        assert {"type", "title", "status", "detail"} <= set(problem)
        assert problem["status"] == 404


@pytest.mark.parametrize("response_type", sorted(_gateway_responses()))
def test_every_gateway_response_body_matches_its_status(response_type: str) -> None:
    response = _gateway_responses()[response_type]
    for body in response["ResponseTemplates"].values():
        assert json.loads(body)["status"] == int(response["StatusCode"])


def test_queue_visibility_is_six_times_the_consuming_function_timeout_configured_in_chalice() -> None:
    chalice = json.loads((ROOT / ".chalice" / "config.json").read_text())
    consumers = {"fan_out": resources.EVENTS, "deliver": resources.DELIVERIES,
                 "run_dms_operation": resources.DMS_OPERATIONS}
    for stage, settings in chalice["stages"].items():
        for function, queue in consumers.items():
            timeout = settings["lambda_functions"][function]["lambda_timeout"]
            assert timeout == resources.FUNCTION_TIMEOUTS[function], (stage, function)
            assert queue.visibility_timeout_seconds >= 6 * timeout, (stage, function)
