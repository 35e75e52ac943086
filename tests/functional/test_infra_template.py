"""`infra/template.yaml`, `chalicelib/resources.py` and the local stack agree, on moto's CloudFormation.

The template is deployed for one fresh stage and `devtools/localstack/provision.py` provisions another; what AWS then
describes for each table and queue must be the same (up to the stage in names and ARNs), and what resources.py says.
`infra/stack_outputs.py` then copies the deployed stack's outputs into a copy of `.chalice/config.json`.

What moto's CloudFormation (5.2) cannot do, and is therefore checked on the template itself by
tests/unit/test_infra_matches_resources.py and test_infra_monitoring.py only: it skips `AWS::SecretsManager::Secret`,
`AWS::S3::BucketPolicy` and `AWS::CloudWatch::Alarm` with a warning (so the secret ARN outputs are missing here), and
it ignores a table's `TimeToLiveSpecification` and `PointInTimeRecoverySpecification` and a bucket's versioning,
public access block and ownership controls. The alarms are put through moto's CloudWatch API instead, with the values
the stack resolved, so botocore checks each one has the shape PutMetricAlarm takes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib import resources
from chalicelib.bootstrap import Components
from chalicelib.settings import settings_from_environment
from devtools.localstack.provision import provision
from infra import gateway_responses, generate, stack_outputs
from tests.conftest import PROJECT_DIR

TEMPLATE = PROJECT_DIR / "infra" / "template.yaml"
NOT_IN_MOTO = {"AWS::SecretsManager::Secret", "AWS::S3::BucketPolicy", "AWS::CloudWatch::Alarm"}
ALARM_EMAIL = "noc@example.net"
# moto warns (from its server thread, whichever test runs) for every resource type it skips.
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse .* not supported by moto:UserWarning")

Json = dict[str, Any]


@dataclass
class Deployed:
    template_stage: str
    local_stage: str
    stack_name: str
    outputs: dict[str, str]
    session: Any

    def client(self, service: str) -> Any:
        return self.session.client(service)


def _fresh_stage(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def _deploy(cloudformation: Any, stack_name: str, **parameters: str) -> dict[str, str]:
    cloudformation.create_stack(
        StackName=stack_name,
        TemplateBody=TEMPLATE.read_text(),
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
    )
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


@pytest.fixture(scope="module")
def deployed(moto_url: str) -> Iterator[Deployed]:
    session = boto3.session.Session()
    template_stage, local_stage = _fresh_stage("cfn"), _fresh_stage("loc")
    stack_name = f"netweave-{template_stage}-infra"
    outputs = _deploy(session.client("cloudformation"), stack_name, Stage=template_stage, AlarmEmail=ALARM_EMAIL)
    provision(settings_from_environment().model_copy(update={"stage": local_stage}), session)
    yield Deployed(template_stage, local_stage, stack_name, outputs, session)


def _normalise(value: Any, stage: str) -> Any:
    """Take the stage out of names and ARNs, so two stages' descriptions compare equal."""
    return json.loads(json.dumps(value).replace(f"netweave-{stage}-", "netweave-STAGE-"))


# ---- the stack ------------------------------------------------------------------------------------------------

def test_every_resource_moto_supports_is_created(deployed: Deployed) -> None:
    cloudformation = deployed.client("cloudformation")
    created = {r["LogicalResourceId"]: r for r in
               cloudformation.list_stack_resources(StackName=deployed.stack_name)["StackResourceSummaries"]}
    template = generate.build_template()
    for logical_id, body in template["Resources"].items():
        if body["Type"] in NOT_IN_MOTO:
            continue
        assert created[logical_id]["ResourceStatus"] == "CREATE_COMPLETE", logical_id
        assert created[logical_id]["ResourceType"] == body["Type"]


def test_moto_skips_exactly_the_resource_types_listed_and_nothing_else(deployed: Deployed) -> None:
    cloudformation = deployed.client("cloudformation")
    created = {r["LogicalResourceId"] for r in
               cloudformation.list_stack_resources(StackName=deployed.stack_name)["StackResourceSummaries"]}
    resources_ = generate.build_template()["Resources"]
    assert {body["Type"] for logical_id, body in resources_.items() if logical_id not in created} == NOT_IN_MOTO


# ---- tables ---------------------------------------------------------------------------------------------------

def _describe_table(dynamodb: Any, stage: str, table: resources.Table) -> Json:
    described = dynamodb.describe_table(TableName=resources.physical_name(stage, table.logical_name))["Table"]
    return {
        "KeySchema": described["KeySchema"],
        "AttributeDefinitions": sorted(described["AttributeDefinitions"], key=lambda a: a["AttributeName"]),
        "BillingMode": described["BillingModeSummary"]["BillingMode"],
        "GlobalSecondaryIndexes": sorted(
            ({k: index[k] for k in ("IndexName", "KeySchema", "Projection")}
             for index in described.get("GlobalSecondaryIndexes", [])),
            key=lambda index: index["IndexName"],
        ),
        "LocalSecondaryIndexes": described.get("LocalSecondaryIndexes", []),
    }


@pytest.mark.parametrize("table", resources.TABLES, ids=lambda t: t.logical_name)
def test_tables_are_what_the_local_stack_creates_and_resources_py_says(
    deployed: Deployed, table: resources.Table
) -> None:
    dynamodb = deployed.client("dynamodb")
    from_template = _describe_table(dynamodb, deployed.template_stage, table)
    from_local_stack = _describe_table(dynamodb, deployed.local_stage, table)
    assert from_template == from_local_stack
    key_schema = [{"AttributeName": table.partition_key, "KeyType": "HASH"}]
    if table.sort_key:
        key_schema.append({"AttributeName": table.sort_key, "KeyType": "RANGE"})
    assert from_template["KeySchema"] == key_schema
    assert [i["IndexName"] for i in from_template["GlobalSecondaryIndexes"]] == sorted(i.name for i in table.indexes)
    assert from_template["BillingMode"] == "PAY_PER_REQUEST"
    assert deployed.outputs[f"{generate.table_id(table)}Name"] == resources.physical_name(
        deployed.template_stage, table.logical_name)


# ---- queues ---------------------------------------------------------------------------------------------------

QUEUE_ATTRIBUTES = ("VisibilityTimeout", "RedrivePolicy", "FifoQueue", "ContentBasedDeduplication",
                    "MessageRetentionPeriod")


def _describe_queue(sqs: Any, stage: str, queue: resources.Queue, dead_letter: bool) -> Json:
    url = sqs.get_queue_url(QueueName=resources.queue_name(stage, queue, dead_letter))["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    described: Json = {name: attributes.get(name) for name in QUEUE_ATTRIBUTES if name != "VisibilityTimeout"}
    if not dead_letter:  # a DLQ's visibility timeout is never used by a consumer; the template leaves the default
        described["VisibilityTimeout"] = attributes["VisibilityTimeout"]
    if described["RedrivePolicy"]:
        described["RedrivePolicy"] = json.loads(described["RedrivePolicy"])
    normalised: Json = _normalise(described, stage)
    return normalised


@pytest.mark.parametrize("queue", resources.QUEUES, ids=lambda q: q.logical_name)
@pytest.mark.parametrize("dead_letter", [False, True], ids=["queue", "dlq"])
def test_queues_are_what_the_local_stack_creates_and_resources_py_says(
    deployed: Deployed, queue: resources.Queue, dead_letter: bool
) -> None:
    sqs = deployed.client("sqs")
    from_template = _describe_queue(sqs, deployed.template_stage, queue, dead_letter)
    assert from_template == _describe_queue(sqs, deployed.local_stage, queue, dead_letter)
    assert from_template["FifoQueue"] == ("true" if queue.fifo else None)
    assert from_template["MessageRetentionPeriod"] == str(queue.retention_seconds)
    if dead_letter:
        assert from_template["RedrivePolicy"] is None
    else:
        assert from_template["VisibilityTimeout"] == str(queue.visibility_timeout_seconds)
        dlq = _normalise(resources.queue_name(deployed.template_stage, queue, True), deployed.template_stage)
        assert from_template["RedrivePolicy"]["deadLetterTargetArn"].endswith(f":{dlq}")
        assert from_template["RedrivePolicy"]["maxReceiveCount"] == queue.max_receive_count
    key = f"{generate.queue_id(queue, dead_letter)}Name"
    assert deployed.outputs[key] == resources.queue_name(deployed.template_stage, queue, dead_letter)


# ---- bucket and secrets ---------------------------------------------------------------------------------------

def test_bucket_exists_under_the_name_the_code_derives_and_is_encrypted(deployed: Deployed) -> None:
    s3 = deployed.client("s3")
    name = resources.physical_name(deployed.template_stage, resources.PACKAGES_BUCKET.logical_name)
    assert deployed.outputs["PackagesBucketName"] == name
    s3.head_bucket(Bucket=name)
    s3.head_bucket(Bucket=resources.physical_name(deployed.local_stage, resources.PACKAGES_BUCKET.logical_name))
    rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_the_code_reads_a_secret_by_the_parameter_name_the_stack_outputs(components: Components,
                                                                          deployed: Deployed) -> None:
    # moto's CloudFormation skips the secret itself; create it as Secrets Manager would have, then read it the way
    # the functions do (Components.secret -> ssm.get_parameter through /aws/reference/secretsmanager/).
    deployed.client("secretsmanager").create_secret(Name=deployed.outputs["AuthSecretName"], SecretString="s3cr3t")
    assert components.secret(deployed.outputs["AuthSecretParameterName"]) == "s3cr3t"


def test_gateway_responses_apply_to_an_api_chalice_deploy_created(deployed: Deployed) -> None:
    apigateway = deployed.client("apigateway")
    api = apigateway.create_rest_api(name=f"netweave-{deployed.template_stage}")["id"]
    for request in gateway_responses.gateway_response_requests():
        apigateway.put_gateway_response(restApiId=api, **request)
    response = apigateway.get_gateway_response(restApiId=api, responseType="MISSING_AUTHENTICATION_TOKEN")
    assert response["statusCode"] == "404"
    assert response["responseParameters"]["gatewayresponse.header.Content-Type"] == "'application/problem+json'"
    assert json.loads(response["responseTemplates"]["application/json"])["status"] == 404


# ---- stack_outputs against the deployed stack -----------------------------------------------------------------

@pytest.fixture()
def chalice_config(tmp_path: Path, deployed: Deployed) -> Path:
    """A copy of .chalice/config.json with a stage for the deployed stack (a copy of dev's settings)."""
    content = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    content["stages"][deployed.template_stage] = json.loads(json.dumps(content["stages"]["dev"]))
    path = tmp_path / "config.json"
    path.write_text(json.dumps(content, indent=2) + "\n")
    return path


def test_stack_outputs_writes_the_stage_environment(deployed: Deployed, chalice_config: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    before = json.loads(chalice_config.read_text())
    stage = deployed.template_stage
    code = stack_outputs.main(["--stack-name", deployed.stack_name, "--stage", stage, "--config", str(chalice_config)])
    assert code == 0, capsys.readouterr().err
    after = json.loads(chalice_config.read_text())
    environment = after["stages"][stage]["environment_variables"]
    assert environment["NETWEAVE_STAGE"] == stage
    reference = f"/aws/reference/secretsmanager/netweave/{stage}"
    assert environment["NETWEAVE_AUTH_SECRET_SSM_PARAMETER"] == f"{reference}/jwt-secret"
    assert environment["NETWEAVE_SMO_CLIENT_SECRET_SSM_PARAMETER"] == f"{reference}/smo-client-secret"
    assert environment["NETWEAVE_MARKER_SECRET_SSM_PARAMETER"] == f"{reference}/marker-secret"
    assert "NETWEAVE_PACKAGES_BUCKET" not in environment, "the default name needs no override"
    # the functions build queue URLs from the prefix instead of asking GetQueueUrl (moto's stack outputs say
    # https://sqs.<region>.amazonaws.com/<account>/, as AWS's do): a message sent there reaches the queue
    queue = resources.queue_name(stage, resources.DELIVERIES, dead_letter=True)
    built = environment["NETWEAVE_QUEUE_URL_PREFIX"] + queue
    sqs = deployed.client("sqs")
    assert built.startswith("https://sqs.") and built.endswith(f"/{queue}")
    sqs.send_message(QueueUrl=built, MessageBody="prefix probe", MessageGroupId="probe",
                     MessageDeduplicationId=str(uuid.uuid4()))
    received = sqs.receive_message(QueueUrl=sqs.get_queue_url(QueueName=queue)["QueueUrl"], WaitTimeSeconds=1)
    assert [m["Body"] for m in received.get("Messages", [])] == ["prefix probe"]
    del before["stages"][stage]["environment_variables"], after["stages"][stage]["environment_variables"]
    assert after == before, "nothing but the stage's environment changes"
    added = [line for line in capsys.readouterr().out.splitlines() if line.startswith("+") and ":" in line]
    assert any('"NETWEAVE_SMO_CLIENT_SECRET_SSM_PARAMETER"' in line for line in added), "the diff is printed"

    # Running it again changes nothing.
    text = chalice_config.read_text()
    assert stack_outputs.main(["--stack-name", deployed.stack_name, "--stage", stage, "--config",
                               str(chalice_config)]) == 0
    assert chalice_config.read_text() == text
    assert "is up to date" in capsys.readouterr().out


def test_stack_outputs_dry_run_prints_the_diff_and_writes_nothing(deployed: Deployed, chalice_config: Path) -> None:
    text = chalice_config.read_text()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETWEAVE_")}
    result = subprocess.run(
        [sys.executable, "-m", "infra.stack_outputs", "--stack-name", deployed.stack_name,
         "--stage", deployed.template_stage, "--config", str(chalice_config), "--dry-run"],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert '+        "NETWEAVE_AUTH_SECRET_SSM_PARAMETER": "/aws/reference/secretsmanager/netweave/' in result.stdout
    assert chalice_config.read_text() == text


def test_stack_outputs_refuses_a_stack_of_another_stage(deployed: Deployed, chalice_config: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    text = chalice_config.read_text()
    code = stack_outputs.main(["--stack-name", deployed.stack_name, "--stage", "dev", "--config", str(chalice_config)])
    assert code == 1
    assert f"Stage={deployed.template_stage}, not dev" in capsys.readouterr().err
    assert chalice_config.read_text() == text


def test_stack_outputs_reports_a_missing_stack(deployed: Deployed, chalice_config: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code = stack_outputs.main(["--stack-name", "no-such-stack", "--stage", deployed.template_stage,
                               "--config", str(chalice_config)])
    assert code == 1
    assert "no-such-stack" in capsys.readouterr().err


def test_a_bucket_named_by_the_operator_is_configured(deployed: Deployed, tmp_path: Path) -> None:
    stage = _fresh_stage("cfb")
    bucket = f"acme-{stage}-charts"
    stack_name = f"netweave-{stage}-infra"
    outputs = _deploy(deployed.client("cloudformation"), stack_name, Stage=stage, PackagesBucketName=bucket)
    assert outputs["PackagesBucketName"] == bucket
    deployed.client("s3").head_bucket(Bucket=bucket)
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"version": "2.0", "stages": {stage: {}}}, indent=2) + "\n")
    assert stack_outputs.main(["--stack-name", stack_name, "--stage", stage, "--config", str(path)]) == 0
    assert json.loads(path.read_text())["stages"][stage]["environment_variables"]["NETWEAVE_PACKAGES_BUCKET"] == bucket
    assert "AlarmTopicArn" not in outputs, "without AlarmEmail no topic is created"


# ---- alarms, their topic and the dashboard ---------------------------------------------------------------------

def _as_deployed(value: Any, deployed: Deployed) -> Any:
    """What CloudFormation would have passed to CloudWatch: a queue's QueueName attribute is the stack's output."""
    if isinstance(value, list):
        return [_as_deployed(item, deployed) for item in value]
    if isinstance(value, dict):
        if list(value) == ["Fn::GetAtt"] and value["Fn::GetAtt"][1] == "QueueName":
            return deployed.outputs[f"{value['Fn::GetAtt'][0]}Name"]
        return {key: _as_deployed(item, deployed) for key, item in value.items()}
    return value


def test_the_alarm_topic_mails_the_address_given(deployed: Deployed) -> None:
    sns = deployed.client("sns")
    topic = deployed.outputs["AlarmTopicArn"]
    assert topic.endswith(f":netweave-{deployed.template_stage}-alarms")
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subscriptions] == [("email", ALARM_EMAIL)]


def test_every_alarm_is_one_cloudwatch_accepts_on_the_deployed_queues(deployed: Deployed) -> None:
    from tests.unit.test_infra_monitoring import resolve

    template = generate.build_template()
    parameters = {name: str(spec.get("Default", "")) for name, spec in template["Parameters"].items()}
    # A Ref to the topic resolves like a parameter: to the ARN the stack gave it.
    parameters.update(Stage=deployed.template_stage, AlarmEmail=ALARM_EMAIL,
                      AlarmTopic=deployed.outputs["AlarmTopicArn"])
    cloudwatch = deployed.client("cloudwatch")
    expected = {}
    for body in template["Resources"].values():
        if body["Type"] == "AWS::CloudWatch::Alarm":
            properties = _as_deployed(resolve(body["Properties"], template, parameters), deployed)
            cloudwatch.put_metric_alarm(**properties)  # botocore validates every field against the API's shape
            expected[properties["AlarmName"]] = properties
    prefix = f"netweave-{deployed.template_stage}-"
    described = {a["AlarmName"]: a for a in cloudwatch.describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"]}
    assert set(described) == set(expected)
    assert all(a["AlarmActions"] == [deployed.outputs["AlarmTopicArn"]] for a in described.values())
    for queue in resources.QUEUES:
        dlq = described[f"{prefix}{queue.dlq_logical_name}-messages"]
        assert dlq["Dimensions"] == [{"Name": "QueueName", "Value": resources.queue_name(
            deployed.template_stage, queue, dead_letter=True)}]
        oldest = described[f"{prefix}{queue.logical_name}-oldest-message"]
        assert oldest["Dimensions"][0]["Value"] == resources.queue_name(deployed.template_stage, queue)


def test_the_dashboard_is_created_for_the_stage_with_its_queues(deployed: Deployed) -> None:
    name = deployed.outputs["DashboardName"]
    assert name == f"netweave-{deployed.template_stage}"
    body = json.loads(deployed.client("cloudwatch").get_dashboard(DashboardName=name)["DashboardBody"])
    text = json.dumps(body)
    for queue in resources.QUEUES:
        for dead_letter in (False, True):
            assert f'"{resources.queue_name(deployed.template_stage, queue, dead_letter)}"' in text
    assert f'"FunctionName", "netweave-{deployed.template_stage}-poll_inventory"' in text
    assert '"region": "us-east-1"' in text and "${" not in text
