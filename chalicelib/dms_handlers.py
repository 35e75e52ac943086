"""Bodies of the DMS event functions (`run_dms_operation`, `poll_deployments`); app.py attaches them to triggers.
Imported only by those functions, so the API never loads the worker's code."""

from __future__ import annotations

import json
from typing import Any

from chalicelib import config, resources
from chalicelib.adapters.store.deployment_store import DeploymentStore
from chalicelib.domain.deployments import OperationStatus
from chalicelib.observability import logger
from chalicelib.services.alarm_evaluation import AlarmReport, evaluate_deployments
from chalicelib.services.deployment_poll import PollPorts, poll_deployments
from chalicelib.services.dms_operations import run_operation
from chalicelib.services.dms_results import OperationPorts

RETRY_BACKOFF_SECONDS = 30


def operation_ports() -> OperationPorts:
    return OperationPorts(config.deployment_store(), config.package_store(), config.dms_registry(),
                          config.events_publisher())


def run_operations_batch(event: dict[str, Any]) -> dict[str, Any]:
    """SQS `dms-operations`. An operation that raises (backend unavailable, unexpected error) is reported failed, so
    SQS delivers it again after the visibility timeout, and so is every later record of its deployment's group."""
    failures: list[dict[str, str]] = []
    broken_groups: set[str] = set()
    for record in event.get("Records", []):
        group = record.get("attributes", {}).get("MessageGroupId", "")
        try:
            if group in broken_groups:
                raise RuntimeError("an earlier operation of this deployment is to be retried first")
            operation_id = str(json.loads(record["body"])["operationId"])
            outcome = run_operation(operation_ports(), operation_id)
            logger.info("dms operation", extra={"operationId": operation_id, "outcome": outcome})
        except Exception:
            logger.exception("dms operation to be retried", extra={"messageId": record.get("messageId")})
            broken_groups.add(group)
            failures.append({"itemIdentifier": record.get("messageId", "")})
            _retry_soon(record)
    return {"batchItemFailures": failures}


def _retry_soon(record: dict[str, Any]) -> None:
    """The queue's visibility timeout is six times the worker's timeout (for crashes); a run that asked for a retry
    comes back after RETRY_BACKOFF_SECONDS times its receive count instead."""
    receives = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
    try:
        config.sqs().change_message_visibility(
            QueueUrl=config.queue_url(resources.DMS_OPERATIONS.logical_name), ReceiptHandle=record["receiptHandle"],
            VisibilityTimeout=RETRY_BACKOFF_SECONDS * receives)
    except Exception:  # the message then comes back after the queue's own timeout: later, never lost
        logger.exception("could not shorten the retry delay", extra={"messageId": record.get("messageId")})


def scheduled_deployment_poll() -> dict[str, Any]:
    ports = PollPorts(config.deployment_store(), config.dms_registry(), config.events_publisher(),
                      config.operation_queue())
    report = poll_deployments(ports)
    alarms = deployment_alarms(ports.store)
    logger.info("deployment poll", extra={"report": report.__dict__, "alarms": alarms.__dict__})
    return {**report.__dict__, "alarms": alarms.__dict__}


def deployment_alarms(store: DeploymentStore) -> AlarmReport:
    """DeploymentFailed / DeploymentUnready / DeploymentOperationFailed from the deployments as they are now."""
    from chalicelib.handlers import alarm_ports

    deployments = [d.to_wire() for d in store.all()]
    failed: dict[str, dict[str, Any]] = {}
    for deployment in deployments:
        operation_id = deployment["extensions"].get("lastOperationId")
        if deployment["status"] == "failed" and operation_id:
            operation = store.get_operation(str(operation_id))
            if operation is not None and operation.status is OperationStatus.FAILED:
                failed[deployment["deploymentId"]] = operation.to_wire()
    return evaluate_deployments(alarm_ports(), deployments, failed)
