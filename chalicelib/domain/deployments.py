"""O2dms deployments and the asynchronous operations that change them. Pure: models, state rules, errors.

A deployment is what the SMO asked to run (name, namespace, package, values) plus what netweave last observed of it
(status, revision). Every change to a deployment is an *operation*: accepted by the API with 202, run by the
`run_dms_operation` worker, observable at `/o2dms/v1/operations/{operationId}`. At most one operation runs per
deployment; the deployment record holds the lock (`activeOperationId`), so a second mutating call answers 409.
"""

from __future__ import annotations

import re
import uuid
from enum import StrEnum
from typing import Any

from pydantic import Field

from chalicelib.domain.errors import BadRequest, Conflict, NetweaveError
from chalicelib.domain.models import WireModel
from chalicelib.domain.placement import NODE_SELECTOR
from chalicelib.domain.selectors import SelectorSchema

DMS_ROOT = "/o2dms/v1"
# Helm caps release names at 53 characters (it appends suffixes to reach Kubernetes' 63); namespaces are DNS-1123
# labels of up to 63.
RELEASE_NAME_MAX = 53
NAMESPACE_MAX = 63
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_EVENT_NAMESPACE = uuid.UUID("b7e0c4d2-1f3a-5b6c-8d9e-0a1b2c3d4e5f")
MAX_PROGRESS_MESSAGES = 50  # an operation record stays small: older messages are dropped, the last ones kept


class DeploymentStatus(StrEnum):
    PENDING = "pending"  # accepted, the worker has not started
    DEPLOYING = "deploying"  # an operation is running, or the release is deployed but not yet ready
    DEPLOYED = "deployed"  # the release is deployed and every workload has its desired replicas ready
    FAILED = "failed"  # the last operation failed, or the release failed / lost readiness
    DELETING = "deleting"  # uninstall accepted or running


class DeploymentEventType(StrEnum):
    CREATED = "DeploymentCreated"
    PROGRESSING = "DeploymentProgressing"
    READY = "DeploymentReady"
    FAILED = "DeploymentFailed"
    SCALED = "DeploymentScaled"
    UPGRADED = "DeploymentUpgraded"
    ROLLED_BACK = "DeploymentRolledBack"
    DELETED = "DeploymentDeleted"


class OperationType(StrEnum):
    CREATE = "create"
    UPDATE = "update"  # PUT: values and/or package
    UPGRADE = "upgrade"
    SCALE = "scale"
    ROLLBACK = "rollback"
    DELETE = "delete"


class OperationStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (OperationStatus.SUCCEEDED, OperationStatus.FAILED)


class Deployment(WireModel):
    deployment_id: str = Field(alias="deploymentId")
    name: str
    namespace: str
    package_id: str = Field(alias="packageId")
    package_version: str = Field(alias="packageVersion")
    resource_pool_id: str | None = Field(default=None, alias="resourcePoolId")
    status: DeploymentStatus
    values: dict[str, Any] = Field(default_factory=dict)
    created_at: str = Field(alias="createdAt")
    updated_at: str = Field(alias="updatedAt")
    extensions: dict[str, Any] = Field(
        default_factory=dict,
        description="dmsAdapter, revision, statusReason, activeOperationId, lastOperationId, replicas, owner, "
                    "nodeSelector",
    )
    # The tenant that created it (docs/o2-conventions.md §6, "Tenancy"): stored beside the document, so no write of
    # the document can change it; reads show it as `extensions.owner`. None: stored before tenancy.
    owner: str | None = Field(default=None, exclude=True)

    @property
    def adapter_id(self) -> str:
        return str(self.extensions["dmsAdapter"])

    @property
    def active_operation_id(self) -> str | None:
        value = self.extensions.get("activeOperationId")
        return str(value) if value else None

    @property
    def node_selector(self) -> dict[str, str] | None:
        """The resource pool's node selector, resolved when it was created (docs/dms.md, "Placement on a resource
        pool"); None: not placed on a pool."""
        value = self.extensions.get(NODE_SELECTOR)
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) and value else None

    @property
    def revision(self) -> int | None:
        value = self.extensions.get("revision")
        return int(value) if value is not None else None

    def href(self) -> str:
        return f"{DMS_ROOT}/deployments/{self.deployment_id}"

    def shown(self) -> dict[str, Any]:
        """What a reader gets (only its owner's tenant and admins read it): the wire form with `extensions.owner`."""
        wire = self.to_wire()
        if self.owner is not None:
            wire["extensions"] = {**wire.get("extensions", {}), "owner": self.owner}
        return wire


class ProgressMessage(WireModel):
    at: str
    message: str


class OperationError(WireModel):
    """What went wrong, in ProblemDetails terms, so an SMO handles it like any other error of the API."""

    title: str
    status: int
    detail: str


class Operation(WireModel):
    operation_id: str = Field(alias="operationId")
    deployment_id: str = Field(alias="deploymentId")
    operation_type: OperationType = Field(alias="operationType")
    status: OperationStatus
    parameters: dict[str, Any] = Field(default_factory=dict, description="what was asked: values, replicas, ...")
    progress: list[ProgressMessage] = Field(default_factory=list)
    created_at: str = Field(alias="createdAt")
    started_at: str | None = Field(default=None, alias="startedAt")
    finished_at: str | None = Field(default=None, alias="finishedAt")
    attempts: int = 0
    result: dict[str, Any] | None = Field(default=None, description="revision and status reached, on success")
    error: OperationError | None = None
    href: str | None = None
    # Until when the worker running it owns it (epoch seconds); stored beside the document, never shown.
    lease_until: int | None = Field(default=None, exclude=True)
    # Its deployment's tenant when it was accepted; stored beside the document, never shown. It decides who reads
    # the operation once its deployment is gone (while it exists, the deployment's owner decides).
    owner: str | None = Field(default=None, exclude=True)

    def with_progress(self, at: str, message: str) -> Operation:
        progress = [*self.progress, ProgressMessage(at=at, message=message)][-MAX_PROGRESS_MESSAGES:]
        return self.model_copy(update={"progress": progress})


def operation_href(operation_id: str) -> str:
    return f"{DMS_ROOT}/operations/{operation_id}"


DEPLOYMENT_SELECTOR_SCHEMA = SelectorSchema(
    attributes=frozenset(f.alias or name for name, f in Deployment.model_fields.items()),
    identifiers=frozenset({"deploymentId"}),
)


def check_release_name(name: str) -> str:
    if len(name) > RELEASE_NAME_MAX or not _DNS1123_LABEL.fullmatch(name):
        raise BadRequest(
            f"name: '{name[:80]}' is not a valid deployment name: lower-case letters, digits and '-', starting and "
            f"ending with a letter or digit, at most {RELEASE_NAME_MAX} characters (DNS-1123 label, Helm's limit)"
        )
    return name


def check_namespace(namespace: str) -> str:
    if len(namespace) > NAMESPACE_MAX or not _DNS1123_LABEL.fullmatch(namespace):
        raise BadRequest(
            f"namespace: '{namespace[:80]}' is not a valid Kubernetes namespace: lower-case letters, digits and '-', "
            f"starting and ending with a letter or digit, at most {NAMESPACE_MAX} characters (DNS-1123 label)"
        )
    return namespace


def event_id(operation_id: str, phase: str) -> str:
    """The same phase of the same operation always gets the same event id: a worker that runs an operation again
    (SQS redelivery after a crash) republishes identical events, which SQS and the SMO deduplicate."""
    return str(uuid.uuid5(_EVENT_NAMESPACE, f"{operation_id}|{phase}"))


class OperationInProgress(Conflict):
    slug = "operation-in-progress"

    def __init__(self, deployment_id: str, operation_id: str) -> None:
        super().__init__(
            f"deployment '{deployment_id}' has an operation in progress ({operation_href(operation_id)}); "
            "wait for it to finish, then try again"
        )


class DeploymentExists(Conflict):
    slug = "deployment-exists"


class OperationQueueUnavailable(NetweaveError):
    status = 503
    title = "Service Unavailable"
    slug = "operation-queue-unavailable"
