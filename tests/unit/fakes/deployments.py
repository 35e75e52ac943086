"""In-memory fakes of the deployment ports (store, event publisher, operation queue, package store) and `DmsWorld`,
which wires them with `FakeDeploymentAdapter`s into the ports the worker, the poller and the API services take.

`FakeDeploymentStore` has the public methods of `DeploymentStore` and, above all, its conditional-write rules, so a
service that is wrong about concurrency fails here as it would against DynamoDB:
- the lock is the deployment's `activeOperationId`: `start_operation` takes it only if absent, `save_progress` and
  `finish` write only while the operation holds it, `observe` only while nobody holds it and its `updatedAt` is still
  the one the poller read (every write stores the deployment's `updatedAt` beside the document);
- the name claim `<adapter>/<namespace>/<name>` is unique: `create` fails with `DeploymentExists` if it, or the
  deployment id, exists;
- `claim_operation` succeeds on a queued operation, or a running one whose stored lease is in the past;
- `operations_in(status)` reads only operations (never deployments sharing a status value) in operation-id order,
  the order of the `byStatus` index, each with its stored lease;
- documents are stored as the same JSON the real store writes, so what is read back went through `to_wire()`: the
  lease (`exclude=True`) is never part of what `get_operation` returns, exactly as in DynamoDB;
- the owner (tenant) is kept beside the document: a deployment's is written at creation and no later write of the
  document changes it; an operation's is written with every put of the operation.
`tests/functional/test_deployment_store.py` runs one contract against both this fake and the real store on moto.
Every method takes one lock, so the fake is atomic the way one DynamoDB request (or transaction) is.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from botocore.exceptions import EndpointConnectionError

from chalicelib.adapters.registry import AdapterRegistry
from chalicelib.adapters.store.deployment_store import DEPLOYMENT, DeploymentStore, name_claim
from chalicelib.adapters.store.package_store import PackageStore
from chalicelib.domain.deployments import (
    Deployment,
    DeploymentExists,
    Operation,
    OperationInProgress,
    OperationStatus,
    OperationType,
)
from chalicelib.domain.errors import NotFound
from chalicelib.domain.events import ChangeEvent
from chalicelib.domain.packages import DeploymentPackage, PackageType
from chalicelib.domain.tenancy import Access
from chalicelib.services.deployment_poll import PollPorts
from chalicelib.services.deployments import DeploymentPorts, NewDeployment, create_deployment, request_operation
from chalicelib.services.dms_operations import run_operation
from chalicelib.services.dms_results import OperationPorts
from chalicelib.settings import AdapterConfig
from tests.unit.fakes.dms import FakeDeploymentAdapter

SMO = Access("smo")  # the tenant the API would record for an SMO's token (subject "smo")


def _doc(model: Deployment | Operation) -> str:
    return json.dumps(model.to_wire(), separators=(",", ":"), ensure_ascii=False)


@dataclass
class _DeploymentRow:
    doc: str
    status: str
    package_id: str
    updated_at: str  # the `updatedAt` attribute, the poller's write condition
    lock: str | None  # the `activeOperationId` attribute
    owner: str | None = None  # the `owner` attribute, set at creation


@dataclass
class _OperationRow:
    doc: str
    status: str
    deployment_id: str
    lease_until: int | None  # the `leaseUntil` attribute: absent when the operation is written without a lease
    owner: str | None = None  # the `owner` attribute


def _deployment_row(deployment: Deployment, owner: str | None = None) -> _DeploymentRow:
    return _DeploymentRow(_doc(deployment), deployment.status.value, deployment.package_id, deployment.updated_at,
                          deployment.active_operation_id, owner)


def _operation_row(operation: Operation) -> _OperationRow:
    return _OperationRow(_doc(operation), operation.status.value, operation.deployment_id, operation.lease_until,
                         operation.owner)


def _deployment(row: _DeploymentRow) -> Deployment:
    return Deployment.model_validate(json.loads(row.doc)).model_copy(update={"owner": row.owner})


def _operation(row: _OperationRow) -> Operation:
    return Operation.model_validate(json.loads(row.doc)).model_copy(update={"owner": row.owner})


class FakeDeploymentStore:
    """`DeploymentStore` in memory (see the module docstring for the rules it keeps)."""

    def __init__(self) -> None:
        self._mutex = threading.RLock()
        self._deployments: dict[str, _DeploymentRow] = {}
        self._names: dict[str, str] = {}
        self._operations: dict[str, _OperationRow] = {}
        self._revisions: dict[str, dict[str, str]] = {}

    # --- deployments -------------------------------------------------------------------------------------------

    def create(self, deployment: Deployment, operation: Operation) -> None:
        claim = name_claim(deployment.adapter_id, deployment.namespace, deployment.name)
        with self._mutex:
            if claim in self._names or deployment.deployment_id in self._deployments:
                raise DeploymentExists(
                    f"a deployment named '{deployment.name}' already exists in namespace '{deployment.namespace}'")
            self._names[claim] = deployment.deployment_id
            self._deployments[deployment.deployment_id] = _deployment_row(deployment, deployment.owner)
            self._operations[operation.operation_id] = _operation_row(operation)

    def get(self, deployment_id: str) -> Deployment | None:
        with self._mutex:
            row = self._deployments.get(deployment_id)
            return _deployment(row) if row else None

    def page(self, limit: int, start_key: dict[str, Any] | None = None) -> tuple[list[Deployment],
                                                                                 dict[str, Any] | None]:
        with self._mutex:
            ids = sorted(self._deployments)
            if start_key:
                ids = [i for i in ids if i > start_key["sk"]["S"]]
            chosen = ids[:limit]
            found = [_deployment(self._deployments[i]) for i in chosen]
        # Like the store on moto: a key only when items remain (DynamoDB itself may also return one for a page that
        # ends exactly at the last item; callers handle both).
        last = {"pk": {"S": DEPLOYMENT}, "sk": {"S": chosen[-1]}} if len(ids) > limit else None
        return found, last

    def all(self) -> Iterator[Deployment]:
        start: dict[str, Any] | None = None
        while True:
            found, start = self.page(100, start)
            yield from found
            if not start:
                return

    def uses_package(self, package_id: str) -> bool:
        with self._mutex:
            return any(row.package_id == package_id for row in self._deployments.values())

    def _write(self, deployment: Deployment) -> None:
        kept = self._deployments[deployment.deployment_id].owner if deployment.deployment_id in self._deployments \
            else None
        self._deployments[deployment.deployment_id] = _deployment_row(deployment, kept)

    def start_operation(self, deployment: Deployment, operation: Operation) -> None:
        with self._mutex:
            row = self._deployments.get(deployment.deployment_id)
            if row is None:
                raise NotFound(f"no deployment with id '{deployment.deployment_id}'")
            if row.lock:
                raise OperationInProgress(deployment.deployment_id, row.lock)
            self._write(deployment)
            self._operations[operation.operation_id] = _operation_row(operation)

    def save_progress(self, deployment: Deployment, operation_id: str) -> bool:
        with self._mutex:
            row = self._deployments.get(deployment.deployment_id)
            if row is None or row.lock != operation_id:
                return False
            self._write(deployment)
            return True

    def finish(self, deployment: Deployment, operation: Operation) -> None:
        with self._mutex:
            row = self._deployments.get(deployment.deployment_id)
            if row is not None and row.lock == operation.operation_id:
                self._write(deployment)
            self._operations[operation.operation_id] = _operation_row(operation)

    def remove(self, deployment: Deployment, operation: Operation) -> None:
        with self._mutex:
            self._deployments.pop(deployment.deployment_id, None)
            self._names.pop(name_claim(deployment.adapter_id, deployment.namespace, deployment.name), None)
            self._operations[operation.operation_id] = _operation_row(operation)
            self._revisions.pop(deployment.deployment_id, None)

    def observe(self, deployment: Deployment, read_updated_at: str) -> bool:
        with self._mutex:
            row = self._deployments.get(deployment.deployment_id)
            if row is None or row.lock or row.updated_at != read_updated_at:
                return False
            self._write(deployment)
            return True

    # --- operations --------------------------------------------------------------------------------------------

    def get_operation(self, operation_id: str) -> Operation | None:
        with self._mutex:
            row = self._operations.get(operation_id)
            return _operation(row) if row else None

    def save_operation(self, operation: Operation) -> None:
        with self._mutex:
            self._operations[operation.operation_id] = _operation_row(operation)

    def claim_operation(self, operation: Operation, now: int) -> bool:
        with self._mutex:
            row = self._operations.get(operation.operation_id)
            expired = row is not None and row.status == OperationStatus.RUNNING.value and \
                row.lease_until is not None and row.lease_until < now
            if row is None or not (row.status == OperationStatus.QUEUED.value or expired):
                return False
            self._operations[operation.operation_id] = _operation_row(operation)
            return True

    def operations_in(self, status: str) -> list[tuple[Operation, int | None]]:
        with self._mutex:
            rows = [self._operations[i] for i in sorted(self._operations)]
            return [(_operation(row), row.lease_until) for row in rows
                    if row.status == status]

    def queued_operations(self) -> list[Operation]:
        return [operation for operation, _ in self.operations_in(OperationStatus.QUEUED.value)]

    # --- revisions ---------------------------------------------------------------------------------------------

    def record_revision(self, deployment_id: str, revision: int, package_id: str, package_version: str,
                        values: dict[str, Any], operation_id: str) -> None:
        record = {"revision": revision, "packageId": package_id, "packageVersion": package_version,
                  "values": values, "operationId": operation_id, "recordedAt": int(time.time())}
        with self._mutex:
            self._revisions.setdefault(deployment_id, {})[f"{revision:08d}"] = json.dumps(
                record, separators=(",", ":"), ensure_ascii=False)

    def revisions(self, deployment_id: str) -> list[dict[str, Any]]:
        with self._mutex:
            history = self._revisions.get(deployment_id, {})
            return [json.loads(history[key]) for key in sorted(history)]

    # --- for assertions (not part of DeploymentStore) ----------------------------------------------------------

    def lease_until(self, operation_id: str) -> int | None:
        """The stored `leaseUntil` of an operation (the real store keeps it beside the document)."""
        with self._mutex:
            row = self._operations.get(operation_id)
            return row.lease_until if row else None

    def claims(self) -> dict[str, str]:
        with self._mutex:
            return dict(self._names)

    def operations_of(self, deployment_id: str) -> list[Operation]:
        """Every operation recorded for a deployment, in the order first written."""
        with self._mutex:
            return [_operation(row) for row in self._operations.values()
                    if row.deployment_id == deployment_id]


class FakePublisher:
    """`EventPublisher`: keeps what was published. `fail_once_on` names detail types (DeploymentReady, ...) whose
    next publication fails as the SQS publisher does when SQS cannot be reached: the way a crash between the backend
    call and the record would surface."""

    def __init__(self) -> None:
        self.events: list[ChangeEvent] = []
        self.fail_once_on: set[str] = set()

    def publish(self, events: list[ChangeEvent]) -> int:
        for event in events:
            if event.detail_type in self.fail_once_on:
                self.fail_once_on.discard(event.detail_type)
                raise EndpointConnectionError(endpoint_url=f"https://sqs.invalid/ (publishing {event.detail_type})")
        self.events.extend(copy.deepcopy(events))
        return len(events)

    def of(self, deployment_id: str) -> list[ChangeEvent]:
        return [e for e in self.events if e.object_id == deployment_id]


class FakeOperationQueue:
    """`OperationQueue` (`SqsOperationQueue.submit`); `error`, when set, is raised by every submit."""

    def __init__(self) -> None:
        self.submitted: list[tuple[str, str, str]] = []
        self.error: Exception | None = None

    def submit(self, deployment_id: str, operation_id: str, deduplication_suffix: str = "") -> None:
        if self.error is not None:
            raise self.error
        self.submitted.append((deployment_id, operation_id, deduplication_suffix))


class FakePackageStore:
    """The part of `PackageStore` the deployment services use: package metadata and chart archives."""

    def __init__(self) -> None:
        self.packages: dict[str, DeploymentPackage] = {}
        self.archives: dict[str, bytes] = {}

    def add(self, name: str, version: str) -> DeploymentPackage:
        archive = f"{name}-{version} chart archive".encode()
        digest = hashlib.sha256(archive).hexdigest()
        package = DeploymentPackage(package_id=f"pkg-{name}-{version}", name=name, version=version,
                                    checksum=f"sha256:{digest}", size=len(archive),
                                    uploaded_at="2026-01-01T00:00:00.000Z", source="upload")
        self.packages[package.package_id] = package
        self.archives[digest] = archive
        return package

    def add_git(self, name: str, revision: str) -> DeploymentPackage:
        url = f"https://git.example.net/ran/{name}.git"
        package = DeploymentPackage(package_id=f"pkg-git-{name}-{revision}", name=name, version=revision,
                                    package_type=PackageType.GIT, repository_url=url, path=f"charts/{name}",
                                    uploaded_at="2026-01-01T00:00:00.000Z", source=url)
        self.packages[package.package_id] = package
        return package

    def get(self, package_id: str) -> DeploymentPackage | None:
        return self.packages.get(package_id)

    def read_archive(self, digest: str) -> bytes:
        return self.archives[digest]


class FakeClock:
    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class DmsWorld:
    """Fakes wired as the worker, the poller and the API services see them. The first adapter is the default."""

    work_dir: Path
    adapters: list[FakeDeploymentAdapter] = field(default_factory=lambda: [FakeDeploymentAdapter()])
    store: FakeDeploymentStore = field(default_factory=FakeDeploymentStore)
    packages: FakePackageStore = field(default_factory=FakePackageStore)
    publisher: FakePublisher = field(default_factory=FakePublisher)
    queue: FakeOperationQueue = field(default_factory=FakeOperationQueue)
    clock: FakeClock = field(default_factory=FakeClock)
    # the inventory's resource pools by id, as their wire documents
    pools: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        configs = [AdapterConfig.model_validate({"id": a.adapter_id, "type": a.adapter_id, "default": i == 0})
                   for i, a in enumerate(self.adapters)]
        self.registry = AdapterRegistry("dms", configs, {a.adapter_id: _factory(a) for a in self.adapters})

    @property
    def adapter(self) -> FakeDeploymentAdapter:
        return self.adapters[0]

    def operation_ports(self) -> OperationPorts:
        return OperationPorts(cast(DeploymentStore, self.store), cast(PackageStore, self.packages), self.registry,
                              self.publisher, self.clock, str(self.work_dir))

    def poll_ports(self) -> PollPorts:
        return PollPorts(cast(DeploymentStore, self.store), self.registry, self.publisher, self.queue, self.clock)

    def deployment_ports(self) -> DeploymentPorts:
        return DeploymentPorts(cast(DeploymentStore, self.store), cast(PackageStore, self.packages), self.registry,
                               self.queue, resource_pool=self.pools.get)

    # --- steps -------------------------------------------------------------------------------------------------

    def accept_create(self, name: str, package: DeploymentPackage, values: dict[str, Any] | None = None,
                      namespace: str = "oran-du", adapter_id: str | None = None,
                      timeout_seconds: int | None = None, access: Access = SMO,
                      resource_pool_id: str | None = None) -> tuple[Deployment, Operation]:
        request = NewDeployment(name=name, namespace=namespace, package_id=package.package_id, values=values or {},
                                adapter_id=adapter_id, timeout_seconds=timeout_seconds,
                                resource_pool_id=resource_pool_id)
        return create_deployment(self.deployment_ports(), request, access=access)

    def accept(self, deployment_id: str, kind: OperationType, parameters: dict[str, Any] | None = None,
               timeout_seconds: int | None = None, access: Access = SMO) -> Operation:
        return request_operation(self.deployment_ports(), deployment_id, kind, parameters or {}, timeout_seconds,
                                 access=access)

    def run(self, operation_id: str) -> str:
        return run_operation(self.operation_ports(), operation_id)

    def deployed(self, name: str, package: DeploymentPackage, values: dict[str, Any] | None = None,
                 adapter_id: str | None = None) -> Deployment:
        """A deployment created and run to `deployed`, as the API and the worker leave it."""
        deployment, operation = self.accept_create(name, package, values, adapter_id=adapter_id)
        outcome = self.run(operation.operation_id)
        assert outcome == "succeeded", outcome
        return self.current(deployment.deployment_id)

    def complete(self, deployment_id: str, kind: OperationType, parameters: dict[str, Any] | None = None) -> Operation:
        """Accept an operation and run it; the finished operation."""
        operation = self.accept(deployment_id, kind, parameters)
        self.run(operation.operation_id)
        return self.operation(operation.operation_id)

    def current(self, deployment_id: str) -> Deployment:
        deployment = self.store.get(deployment_id)
        assert deployment is not None, f"no deployment {deployment_id}"
        return deployment

    def operation(self, operation_id: str) -> Operation:
        operation = self.store.get_operation(operation_id)
        assert operation is not None, f"no operation {operation_id}"
        return operation


def _factory(adapter: FakeDeploymentAdapter) -> Any:
    return lambda config: adapter
