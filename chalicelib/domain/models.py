"""Wire models shared by every O2 surface. Python names say what a thing is; wire names live in aliases."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field


class WireModel(BaseModel):
    """Serialises by alias and never emits `null`: conformance schemas reject null for optional attributes."""

    # defer_build: a model's validators are built on first use, so a cold start pays only for the models it uses.
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True, extra="forbid", defer_build=True)

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class CloudInfo(WireModel):
    """The O-Cloud root object of the Inventory service (docs/o2-conventions.md §2)."""

    o_cloud_id: str = Field(alias="oCloudId")
    global_cloud_id: str = Field(alias="globalCloudId")
    name: str
    description: str
    service_uri: str = Field(alias="serviceUri")
    extensions: dict[str, Any] = Field(default_factory=dict)

    @computed_field(alias="globalcloudId")  # type: ignore[prop-decorator]
    @property
    def global_cloud_id_lowercase_c(self) -> str:
        """The conformance schema spells it with a lower-case c; emit both spellings."""
        return self.global_cloud_id


class ApiVersion(WireModel):
    version: str


class ApiVersions(WireModel):
    uri_prefix: str = Field(alias="uriPrefix")
    api_versions: list[ApiVersion] = Field(alias="apiVersions")


class Health(WireModel):
    status: str


class ReadinessCheck(WireModel):
    name: str
    ok: bool
    detail: str | None = None


class Readiness(WireModel):
    status: str
    checks: list[ReadinessCheck] | None = None  # only for a caller with the `netweave:operate` scope


class ProblemDetails(WireModel):
    """RFC 9457 problem document (docs/o2-conventions.md §6); `instance` is left out on purpose."""

    type: str
    title: str
    status: int
    detail: str
    # On a 500 only: the id (also in the X-Request-Id header) under which the gateway logged what went wrong.
    request_id: str | None = Field(default=None, alias="requestId")
