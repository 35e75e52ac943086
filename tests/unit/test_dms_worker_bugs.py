"""run_operation when netweave's own code fails (a TypeError in a mapping, a request botocore refuses to send): the
operation fails at once as an internal error that names only the exception class, the traceback is logged once, and
the run returns instead of raising, so the SQS handler reports the message done and it is not retried. AWS requests
that fail (store, queues) stay retried like an unreachable backend."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, ParamValidationError

from chalicelib.domain.deployments import (
    DeploymentEventType,
    DeploymentStatus,
    OperationError,
    OperationStatus,
    OperationType,
    event_id,
)
from chalicelib.domain.packages import DeploymentPackage
from chalicelib.observability import SERVICE
from chalicelib.services import dms_results
from tests.unit.fakes.deployments import DmsWorld
from tests.unit.fakes.dms import FakeDeploymentAdapter

SECRET = "token=s3cr3t"  # what a bug's message may carry: it must reach neither the operation nor the deployment


@pytest.fixture()
def world(tmp_path: Path) -> DmsWorld:
    (tmp_path / "work").mkdir()
    return DmsWorld(tmp_path / "work", adapters=[FakeDeploymentAdapter()])


@pytest.fixture()
def v1(world: DmsWorld) -> DeploymentPackage:
    return world.packages.add("vdu", "1.0.0")


class ErrorRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture()
def errors() -> Iterator[list[logging.LogRecord]]:
    """The ERROR records of netweave's logger."""
    handler = ErrorRecords()
    logging.getLogger(SERVICE).addHandler(handler)
    yield handler.records
    logging.getLogger(SERVICE).removeHandler(handler)


def raising(error: Exception) -> Any:
    def call(*_: Any, **__: Any) -> Any:
        raise error
    return call


def events_of(world: DmsWorld, operation_id: str) -> list[str | None]:
    ids = {event_id(operation_id, "start"), event_id(operation_id, "done")}
    return [e.detail_type for e in world.publisher.events if e.event_id in ids]


@pytest.mark.parametrize("bug", [TypeError(f"unsupported operand ({SECRET})"), KeyError(SECRET),
                                 ParamValidationError(report=SECRET)], ids=lambda e: type(e).__name__)
def test_a_bug_in_the_backend_call_fails_the_operation_at_once_and_is_not_retried(
        world: DmsWorld, v1: DeploymentPackage, errors: list[logging.LogRecord], bug: Exception,
        monkeypatch: pytest.MonkeyPatch) -> None:
    deployment = world.deployed("du-1", v1)
    operation = world.accept(deployment.deployment_id, OperationType.SCALE, {"replicas": 3})
    monkeypatch.setattr(world.adapter, "scale", raising(bug))

    assert world.run(operation.operation_id) == "failed"  # returned, not raised: the message is done

    name = type(bug).__name__
    failed = world.operation(operation.operation_id)
    assert failed.status is OperationStatus.FAILED and failed.attempts == 1
    assert failed.error == OperationError(title="Internal Server Error", status=500, detail=f"internal error: {name}")
    assert failed.progress[-1].message == f"failed: internal error: {name}"
    after = world.current(deployment.deployment_id)
    assert after.status is DeploymentStatus.FAILED and after.active_operation_id is None
    assert after.extensions["statusReason"] == f"scale failed: internal error: {name}"
    assert after.revision == 1  # the backend could still tell what the failure left behind
    assert events_of(world, operation.operation_id) == [DeploymentEventType.PROGRESSING.value,
                                                        DeploymentEventType.FAILED.value]
    assert SECRET not in failed.model_dump_json() + after.model_dump_json()
    [logged] = errors
    assert logged.getMessage() == "dms operation hit a bug" and logged.exc_info and logged.exc_info[1] is bug
    assert vars(logged)["operationId"] == operation.operation_id

    assert world.run(operation.operation_id) == "skipped"  # a redelivery changes nothing
    world.accept(deployment.deployment_id, OperationType.ROLLBACK)  # the lock is released


def test_a_bug_while_planning_refuses_the_operation_and_keeps_the_deployment(
        world: DmsWorld, v1: DeploymentPackage, errors: list[logging.LogRecord],
        monkeypatch: pytest.MonkeyPatch) -> None:
    deployment = world.deployed("du-1", v1)
    operation = world.accept(deployment.deployment_id, OperationType.UPDATE, {"values": {"replicaCount": 2}})
    monkeypatch.setattr(world.packages, "get", raising(AttributeError(SECRET)))

    assert world.run(operation.operation_id) == "refused"

    refused = world.operation(operation.operation_id)
    assert refused.status is OperationStatus.FAILED and refused.attempts == 1
    assert refused.error == OperationError(title="Internal Server Error", status=500,
                                           detail="internal error: AttributeError")
    after = world.current(deployment.deployment_id)
    assert after.status is DeploymentStatus.DEPLOYED and after.active_operation_id is None
    assert events_of(world, operation.operation_id) == [] and "update" not in [c[0] for c in world.adapter.calls]
    assert len(errors) == 1


def test_a_bug_while_recording_success_fails_the_operation(
        world: DmsWorld, v1: DeploymentPackage, errors: list[logging.LogRecord],
        monkeypatch: pytest.MonkeyPatch) -> None:
    deployment, operation = world.accept_create("du-1", v1)
    monkeypatch.setattr(dms_results, "SUCCESS_EVENTS", {})  # succeed() then fails with a KeyError

    assert world.run(operation.operation_id) == "failed"

    failed = world.operation(operation.operation_id)
    assert failed.status is OperationStatus.FAILED and failed.attempts == 1
    assert failed.error is not None and failed.error.detail == "internal error: KeyError"
    assert world.current(deployment.deployment_id).status is DeploymentStatus.FAILED
    assert [c[0] for c in world.adapter.calls].count("install") == 1 and len(errors) == 1


def test_a_failing_aws_request_is_retried_not_a_bug(
        world: DmsWorld, v1: DeploymentPackage, errors: list[logging.LogRecord],
        monkeypatch: pytest.MonkeyPatch) -> None:
    deployment, operation = world.accept_create("du-1", v1)
    throttled = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "GetObject")
    monkeypatch.setattr(world.packages, "read_archive", raising(throttled))

    with pytest.raises(ClientError):
        world.run(operation.operation_id)

    running = world.operation(operation.operation_id)
    assert running.status is OperationStatus.RUNNING and running.error is None
    assert running.progress[-1].message == "attempt 1 failed (ClientError); will retry"
    assert errors == []
    monkeypatch.undo()
    assert world.run(operation.operation_id) == "succeeded"  # the redelivery claims it at once
    assert world.current(deployment.deployment_id).status is DeploymentStatus.DEPLOYED
