"""O2ims provisioning requests (docs/provisioning.md): the wire models, the record netweave keeps of each request, and
the one rule that turns what the backends and the inventory say into the request's phase. Pure.

An SMO asks for infrastructure by naming a template and its parameters; netweave records the request (PENDING), the
inventory poll's reconciler starts the backend's work (PROGRESSING), follows it in the backend's own terms, and calls
the request FULFILLED once the backend is done *and* every resource it made is in the inventory, so every id the
request lists resolves there. A DELETE marks it DELETING; the record goes once the backend's pools are gone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chalicelib.domain.errors import BadRequest
from chalicelib.domain.models import WireModel
from chalicelib.domain.selectors import SelectorSchema

PROVISIONING_ROOT = "/o2ims-infrastructureProvisioning/v1"
REQUESTS_PATH = f"{PROVISIONING_ROOT}/provisioningRequests"


class ProvisioningPhase(StrEnum):
    PENDING = "PENDING"  # recorded; the backend has not started (or could not be reached yet)
    PROGRESSING = "PROGRESSING"  # the backend is creating, resizing, or its resources are not all in the inventory
    FULFILLED = "FULFILLED"  # the backend is done and every resource it made is in the inventory
    FAILED = "FAILED"  # the backend refused or failed; `message` says why; PUT the request again to retry
    DELETING = "DELETING"  # DELETE accepted; GET answers 404 once the backend's pools are gone


class ResourcePhase(StrEnum):
    PROCESSING = "PROCESSING"
    PROVISIONED = "PROVISIONED"
    AWAITING_FREE_RESOURCES = "AWAITING_FREE_RESOURCES"
    FAILED = "FAILED"


OPEN_PHASES = frozenset({ProvisioningPhase.PENDING, ProvisioningPhase.PROGRESSING, ProvisioningPhase.DELETING})


# --- the backends' progress, in their own terms (the IMS port re-exports these) ---------------------------------------

ProgressState = Literal["progressing", "ready", "failed", "gone"]


@dataclass(frozen=True)
class ProvisioningStart:
    """What a backend started for a provisioning request: the O2 id the pool has (or will have) in the inventory,
    and the backend job to follow, where the backend works by jobs (DTIAS)."""

    resource_pool_id: str
    job_id: str | None = None
    backend_state: str = ""  # the backend's own word for where it is: EKS node group status, DTIAS job status


@dataclass(frozen=True)
class BackendProgress:
    """Where a backend is with a pool a provisioning request started, in the backend's own terms.

    `state`: progressing (creating, resizing, a job still running), ready (the backend is done: EKS ACTIVE, a DTIAS
    job completed), failed (`message` carries the backend's reason), gone (the pool no longer exists: after a
    deletion, the end). `awaiting_resources`: failed or waiting for lack of free capacity (DTIAS: not enough free
    servers), which the per-resource status reports as AWAITING_FREE_RESOURCES."""

    state: ProgressState
    backend_state: str
    message: str = ""
    desired_nodes: int | None = None
    awaiting_resources: bool = False


# --- the wire ---------------------------------------------------------------------------------------------------------

class ProvisioningRequestData(BaseModel):
    """What an SMO sends (POST, PUT): the spec's ProvisioningRequestData."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    provisioning_request_id: str = Field(alias="provisioningRequestId", min_length=1, max_length=64,
                                         description="assigned by the SMO: a UUID")
    name: str = Field(default="", max_length=256)
    description: str = Field(default="", max_length=1024)
    template_name: str = Field(alias="templateName", min_length=1, max_length=128)
    template_version: str = Field(alias="templateVersion", min_length=1, max_length=64)
    template_parameters: dict[str, Any] = Field(alias="templateParameters")
    extensions: dict[str, Any] = Field(default_factory=dict)

    @field_validator("provisioning_request_id")
    @classmethod
    def _uuid(cls, value: str) -> str:
        return canonical_request_id(value)


class ResourceProvisioningStatus(WireModel):
    resource_name: str = Field(alias="resourceName")
    resource_id: str = Field(alias="resourceId")
    resource_provisioning_phase: ResourcePhase = Field(alias="resourceProvisioningPhase")


class ProvisioningStatus(WireModel):
    update_time: str = Field(alias="updateTime")
    message: str
    provisioning_phase: ProvisioningPhase = Field(alias="provisioningPhase")
    infrastructure_resource_provisioning_status: list[ResourceProvisioningStatus] = Field(
        default_factory=list, alias="infrastructureResourceProvisioningStatus")


class ProvisionedResourceSet(WireModel):
    infrastructure_resource_ids: list[str] = Field(default_factory=list, alias="infrastructureResourceIds")


class ProvisioningRequestInfo(WireModel):
    """What GET answers: the request as sent, the reference netweave assigned, the status and what was provisioned.
    `extensions.resourcePoolIds` names the inventory pools the request's resources are in (the spec's resource set
    has no member for pools)."""

    provisioning_request_id: str = Field(alias="provisioningRequestId")
    name: str
    description: str
    template_name: str = Field(alias="templateName")
    template_version: str = Field(alias="templateVersion")
    template_parameters: dict[str, Any] = Field(alias="templateParameters")
    provisioning_request_reference: str = Field(alias="provisioningRequestReference")
    status: ProvisioningStatus
    provisioned_resource_set: ProvisionedResourceSet = Field(alias="provisionedResourceSet")
    extensions: dict[str, Any] = Field(default_factory=dict)


PROVISIONING_SELECTOR_SCHEMA = SelectorSchema(
    attributes=frozenset(f.alias or name for name, f in ProvisioningRequestInfo.model_fields.items()),
    identifiers=frozenset({"provisioningRequestId"}),
    # any path below these may be selected or filtered on (status/provisioningPhase, templateParameters/size)
    open_attributes=frozenset({"extensions", "templateParameters", "status", "provisionedResourceSet"}),
)


def canonical_request_id(value: str) -> str:
    """The SMO assigns the id; O2ims (and every peer) makes it a UUID. Lower-case canonical form, so one request
    never has two spellings."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        raise BadRequest(f"provisioningRequestId: '{str(value)[:64]}' is not a UUID") from None
