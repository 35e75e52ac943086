"""`run_dms_operation` (SQS `dms-operations`) and `poll_deployments` (schedule). Imported only by those functions,
so the API never loads the worker's code (helm, the adapters)."""

from __future__ import annotations

import json
import time
from typing import Any

from chalicelib import resources
from chalicelib.bootstrap import Components, components
from chalicelib.domain.deployments import OperationStatus
from chalicelib.observability import DEPLOYMENT_POLL, logger, record_dms_operation, record_poll
from chalicelib.services.alarm_evaluation import AlarmReport, evaluate_deployments
from chalicelib.services.deployment_poll import poll_deployments
from chalicelib.services.dms_operations import run_operation

RETRY_BACKOFF_SECONDS = 30


def run_operations_batch(event: dict[str, Any], parts: Components | None = None) -> dict[str, Any]:
    """app.py gives this function one record per invocation (batch size 1), so a FIFO group's next operation waits
    until this one is done. An operation that raises before its outcome is recorded (a store or queue it cannot
    reach) is reported failed, so SQS delivers it again, sooner than the queue's own timeout."""
    parts = parts or components()
    failures: list[dict[str, str]] = []
    for record in event.get("Records", []):
        started = time.perf_counter()
        try:
            operation_id = str(json.loads(record["body"])["operationId"])
            outcome = run_operation(parts.operation_ports(), operation_id)
            logger.info("dms operation", extra={"operationId": operation_id, "outcome": outcome})
        except Exception:
            logger.exception("dms operation to be retried", extra={"messageId": record.get("messageId")})
            failures.append({"itemIdentifier": record.get("messageId", "")})
            _retry_soon(parts, record)
            outcome = "retried"
        record_dms_operation(outcome, (time.perf_counter() - started) * 1000)
    return {"batchItemFailures": failures}


def _retry_soon(parts: Components, record: dict[str, Any]) -> None:
    """The queue's visibility timeout is six times the worker's timeout (for crashes); a run that asked for a retry
    comes back after RETRY_BACKOFF_SECONDS times its receive count instead."""
    receives = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
    try:
        parts.clients.sqs.change_message_visibility(
            QueueUrl=parts.queue_url(resources.DMS_OPERATIONS), ReceiptHandle=record["receiptHandle"],
            VisibilityTimeout=RETRY_BACKOFF_SECONDS * receives)
    except Exception:  # the message then comes back after the queue's own timeout: later, never lost
        logger.exception("could not shorten the retry delay", extra={"messageId": record.get("messageId")})


def scheduled_deployment_poll(parts: Components | None = None) -> dict[str, Any]:
    parts = parts or components()
    ports = parts.deployment_poll_ports()
    started = time.perf_counter()
    report = poll_deployments(ports)
    record_poll(DEPLOYMENT_POLL, (time.perf_counter() - started) * 1000, changes=report.changed,
                failures=len(report.failed), unreachable=len(report.unreachable))
    alarms = deployment_alarms(parts)
    logger.info("deployment poll", extra={"report": report.__dict__, "alarms": alarms.__dict__})
    return {**report.__dict__, "alarms": alarms.__dict__}


def deployment_alarms(parts: Components) -> AlarmReport:
    """DeploymentFailed / DeploymentUnready / DeploymentOperationFailed from the deployments as they are now."""
    store = parts.deployment_store
    deployments = [d.to_wire() for d in store.all()]
    failed: dict[str, dict[str, Any]] = {}
    for deployment in deployments:
        operation_id = deployment["extensions"].get("lastOperationId")
        if deployment["status"] == "failed" and operation_id:
            operation = store.get_operation(str(operation_id))
            if operation is not None and operation.status is OperationStatus.FAILED:
                failed[deployment["deploymentId"]] = operation.to_wire()
    return evaluate_deployments(parts.alarm_ports(), deployments, failed)
