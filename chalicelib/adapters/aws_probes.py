"""Reachability probes of the AWS resources the API depends on, for the readiness check."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from chalicelib import resources
from chalicelib.adapters.aws_clients import AwsClients
from chalicelib.settings import Settings

Probe = tuple[str, Callable[[], None]]  # a name and a call that raises when the resource cannot be reached


def aws_probes(clients: AwsClients, settings: Settings) -> list[Probe]:
    probes: list[Probe] = []
    for table in resources.TABLES:
        name = settings.table_name(table)
        probes.append((f"dynamodb:{name}", partial(_describe_table, clients, name)))
    for queue in resources.QUEUES:
        name = settings.queue_name(queue)
        probes.append((f"sqs:{name}", partial(_get_queue_url, clients, name)))
    return probes


def _describe_table(clients: AwsClients, name: str) -> None:
    clients.dynamodb.describe_table(TableName=name)


def _get_queue_url(clients: AwsClients, name: str) -> None:
    clients.sqs.get_queue_url(QueueName=name)
