"""Generate `infra/storage.json` from `chalicelib/resources.py`, so the template cannot drift from the one definition.

    python -m infra.generate > infra/storage.json     # regenerate after changing resources.py
    python -m infra.generate --check                  # exit 1 if the committed template is stale

The output is plain JSON (not YAML with CloudFormation tags) so tests and tools read it with `json.load`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from chalicelib import resources

TEMPLATE_PATH = Path(__file__).resolve().parent / "storage.json"

# Physical names come from resources.physical_name itself, called with this placeholder as the stage, so the
# template follows any change to the naming rule; CloudFormation substitutes the Stage parameter at deploy time.
_STAGE = "${Stage}"

Json = dict[str, Any]


def cfn_id(logical_name: str) -> str:
    """CloudFormation logical ids are alphanumeric: `delivery-log` -> `DeliveryLog`."""
    return "".join(part.capitalize() for part in logical_name.replace("_", "-").split("-"))


def _name(logical_name: str, fifo: bool = False) -> Json:
    return {"Fn::Sub": resources.physical_name(_STAGE, logical_name, fifo=fifo)}


def _key_schema(partition_key: str, sort_key: str | None) -> list[Json]:
    keys = [{"AttributeName": partition_key, "KeyType": "HASH"}]
    if sort_key:
        keys.append({"AttributeName": sort_key, "KeyType": "RANGE"})
    return keys


def table_resource(table: resources.Table) -> Json:
    properties: Json = {
        "TableName": _name(table.logical_name),
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": table.attribute_type(name)} for name in table.key_attributes()
        ],
        "KeySchema": _key_schema(table.partition_key, table.sort_key),
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
    }
    if table.indexes:
        properties["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": _key_schema(index.partition_key, index.sort_key),
                "Projection": index.projection(),
            }
            for index in table.indexes
        ]
    if table.ttl_attribute:
        properties["TimeToLiveSpecification"] = {"AttributeName": table.ttl_attribute, "Enabled": True}
    # Tables hold subscriptions, packages and deployments an SMO relies on: deleting or replacing the stack
    # must not delete them with it.
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": properties,
    }


def _queue_properties(queue: resources.Queue, logical_name: str) -> Json:
    properties: Json = {"QueueName": _name(logical_name, fifo=queue.fifo)}
    if queue.fifo:
        # Producers set MessageDeduplicationId themselves (the notificationId / event id), so content-based
        # deduplication stays off: two different events with equal bodies must both be delivered.
        properties["FifoQueue"] = True
        properties["ContentBasedDeduplication"] = False
    properties["MessageRetentionPeriod"] = queue.retention_seconds
    properties["SqsManagedSseEnabled"] = True
    return properties


def queue_resources(queue: resources.Queue) -> dict[str, Json]:
    """The queue and its dead-letter queue; the DLQ has the queue's FIFO-ness because SQS requires it."""
    dlq_id = f"{cfn_id(queue.logical_name)}DeadLetterQueue"
    main = _queue_properties(queue, queue.logical_name)
    main["VisibilityTimeout"] = queue.visibility_timeout_seconds
    main["RedrivePolicy"] = {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": queue.max_receive_count,
    }
    return {
        f"{cfn_id(queue.logical_name)}Queue": {"Type": "AWS::SQS::Queue", "Properties": main},
        dlq_id: {"Type": "AWS::SQS::Queue", "Properties": _queue_properties(queue, queue.dlq_logical_name)},
    }


def bucket_resource(bucket: resources.Bucket) -> Json:
    return {
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "BucketName": _name(bucket.logical_name),
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "VersioningConfiguration": {"Status": "Enabled"},
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        },
    }


def _output(description: str, value: Json) -> Json:
    return {"Description": description, "Value": value}


def outputs(resource_ids: dict[str, str]) -> Json:
    """Name (tables, bucket) or URL (queues; `Ref` of a queue is its URL) and ARN of every resource."""
    result: Json = {}
    for resource_id, kind in resource_ids.items():
        first = "Url" if kind == "AWS::SQS::Queue" else "Name"
        result[f"{resource_id}{first}"] = _output(f"{first} of {resource_id}", {"Ref": resource_id})
        result[f"{resource_id}Arn"] = _output(f"ARN of {resource_id}", {"Fn::GetAtt": [resource_id, "Arn"]})
    return result


def _all_resources() -> dict[str, Json]:
    result: dict[str, Json] = {}
    for table in resources.TABLES:
        result[f"{cfn_id(table.logical_name)}Table"] = table_resource(table)
    for queue in resources.QUEUES:
        result.update(queue_resources(queue))
    for bucket in resources.BUCKETS:
        result[f"{cfn_id(bucket.logical_name)}Bucket"] = bucket_resource(bucket)
    return result


def build_template() -> Json:
    all_resources = _all_resources()
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": (
            "netweave storage and messaging: DynamoDB tables, SQS queues with their DLQs, the packages bucket. "
            "GENERATED from chalicelib/resources.py by `python -m infra.generate`; do not edit by hand."
        ),
        "Parameters": {
            "Stage": {
                "Type": "String",
                "Default": "dev",
                "AllowedPattern": "^[a-z0-9][a-z0-9-]*$",
                "ConstraintDescription": "lower-case letters, digits and dashes: the stage is part of a bucket name",
                "Description": "Chalice stage (NETWEAVE_STAGE); prefixes every physical name",
            }
        },
        "Resources": all_resources,
        "Outputs": outputs({rid: body["Type"] for rid, body in all_resources.items()}),
    }


def render() -> str:
    return json.dumps(build_template(), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate infra/storage.json from chalicelib/resources.py.")
    parser.add_argument("--check", action="store_true", help="exit 1 if infra/storage.json is not up to date")
    args = parser.parse_args(argv)
    text = render()
    if not args.check:
        sys.stdout.write(text)
        return 0
    if TEMPLATE_PATH.exists() and TEMPLATE_PATH.read_text() == text:
        return 0
    print(f"{TEMPLATE_PATH} is stale: run `python -m infra.generate > infra/storage.json`", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
