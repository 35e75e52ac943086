"""Models of the answers the gateway's OpenAPI document gives no schema for (the live views of a deployment:
`…/status`, `…/logs`, `…/history`), written by hand from docs/dms.md. Lenient on purpose: these are read live from
a backend (Helm, ArgoCD, Flux), and each fills in what it knows."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Live(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Workload(_Live):
    kind: str
    name: str
    desired: int | None = None
    ready: int | None = None
    available: int | None = None


class Pod(_Live):
    name: str
    phase: str | None = None
    ready: bool | None = None
    restarts: int | None = None
    reason: str | None = None
    message: str | None = None


class Release(_Live):
    name: str | None = None
    namespace: str | None = None
    revision: int | None = None
    status: str | None = None
    chart: str | None = None
    chart_version: str | None = Field(default=None, alias="chartVersion")
    app_version: str | None = Field(default=None, alias="appVersion")
    updated_at: str | None = Field(default=None, alias="updatedAt")


class DeploymentLiveStatus(_Live):
    """`status` is the deployment's own; `release.status` the backend's. Without a release, `release` is None."""

    deployment_id: str = Field(alias="deploymentId")
    status: str
    ready: bool = False
    workloads: list[Workload] = Field(default_factory=list)
    pods: list[Pod] = Field(default_factory=list)
    release: Release | None = None
    extensions: dict[str, Any] | None = None


class Revision(_Live):
    revision: int
    status: str | None = None
    chart: str | None = None
    app_version: str | None = Field(default=None, alias="appVersion")
    updated_at: str | None = Field(default=None, alias="updatedAt")
    description: str | None = None
    package_id: str | None = Field(default=None, alias="packageId")
    package_version: str | None = Field(default=None, alias="packageVersion")
    operation_id: str | None = Field(default=None, alias="operationId")


class PodLog(_Live):
    pod: str
    container: str
    lines: list[str] = Field(default_factory=list)
