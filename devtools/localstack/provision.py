"""Create every table, queue (+ DLQ) and bucket of `chalicelib/resources.py` in the emulated AWS. Idempotent."""

from __future__ import annotations

import json
from typing import Any

from chalicelib import resources
from chalicelib.settings import Settings


def provision(settings: Settings, session: Any) -> None:
    dynamodb = session.client("dynamodb")
    sqs = session.client("sqs")
    s3 = session.client("s3")
    existing_tables = set(dynamodb.list_tables()["TableNames"])
    for table in resources.TABLES:
        name = settings.table_name(table)
        if name not in existing_tables:
            _create_table(dynamodb, name, table)
    for queue in resources.QUEUES:
        _create_queue(sqs, settings, queue)
    for bucket in resources.BUCKETS:
        _create_bucket(s3, settings.bucket_name(bucket), settings.region)


def _create_table(dynamodb: Any, name: str, table: resources.Table) -> None:
    key_schema = [{"AttributeName": table.partition_key, "KeyType": "HASH"}]
    if table.sort_key:
        key_schema.append({"AttributeName": table.sort_key, "KeyType": "RANGE"})
    options: dict[str, Any] = {
        "TableName": name,
        "KeySchema": key_schema,
        "AttributeDefinitions": [
            {"AttributeName": attr, "AttributeType": table.attribute_type(attr)} for attr in table.key_attributes()
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if table.indexes:
        options["GlobalSecondaryIndexes"] = [_index(index) for index in table.indexes]
    dynamodb.create_table(**options)
    if table.ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute}
        )


def _index(index: resources.Index) -> dict[str, Any]:
    key_schema = [{"AttributeName": index.partition_key, "KeyType": "HASH"}]
    if index.sort_key:
        key_schema.append({"AttributeName": index.sort_key, "KeyType": "RANGE"})
    return {"IndexName": index.name, "KeySchema": key_schema, "Projection": index.projection()}


def _create_queue(sqs: Any, settings: Settings, queue: resources.Queue) -> None:
    fifo = {"FifoQueue": "true"} if queue.fifo else {}
    retention = {"MessageRetentionPeriod": str(queue.retention_seconds)}
    dlq_url = sqs.create_queue(
        QueueName=settings.queue_name(queue, dead_letter=True), Attributes={**fifo, **retention}
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": queue.max_receive_count})
    attributes = {
        **fifo,
        **retention,
        "VisibilityTimeout": str(queue.visibility_timeout_seconds),
        "RedrivePolicy": redrive,
    }
    if queue.fifo:
        # Deduplication ids are set explicitly by the producers (stable per event), not derived from the body.
        attributes["ContentBasedDeduplication"] = "false"
    sqs.create_queue(QueueName=settings.queue_name(queue), Attributes=attributes)


def _create_bucket(s3: Any, name: str, region: str) -> None:
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if name in existing:
        return
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
