"""Reachability probes of the AWS resources the API depends on, for the readiness check."""

from __future__ import annotations

from chalicelib import config, resources
from chalicelib.services.readiness import Probe


def aws_probes() -> list[Probe]:
    settings = config.get_settings()
    probes: list[Probe] = []
    for table in resources.TABLES:
        name = settings.table_name(table)
        probes.append((f"dynamodb:{name}", lambda name=name: _describe_table(name)))  # type: ignore[misc]
    for queue in resources.QUEUES:
        name = settings.queue_name(queue)
        probes.append((f"sqs:{name}", lambda name=name: _get_queue_url(name)))  # type: ignore[misc]
    return probes


def _describe_table(name: str) -> None:
    config.dynamodb().meta.client.describe_table(TableName=name)


def _get_queue_url(name: str) -> None:
    config.sqs().get_queue_url(QueueName=name)
