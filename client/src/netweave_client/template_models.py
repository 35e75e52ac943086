"""Models of O2dms deployment templates (`/o2dms/v1/deploymentTemplates`) and of deploying from one, written by hand
from the gateway's contract (chalicelib/domain/deployment_templates.py) until the generated `models.py` has them.
Lenient like `live_models`: the gateway validates; what it adds later is kept."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Placement(_Wire):
    """Where a deployment made from the template goes; `{parameter}` in a pattern is that parameter's value."""

    name: str | None = None
    namespace: str
    resource_pool_filter: str | None = Field(default=None, alias="resourcePoolFilter")
    deployment_type: str | None = Field(default=None, alias="deploymentType")
    dms_adapter: str | None = Field(default=None, alias="dmsAdapter")


class Lifecycle(_Wire):
    timeout_seconds: int | None = Field(default=None, alias="timeoutSeconds")
    rollback_on_failure: bool | None = Field(default=None, alias="rollbackOnFailure")


class DeploymentTemplateData(_Wire):
    """What POST and PUT send: the package as `package_id`, or as `package_name` and `package_version`. Unset
    members stay off the wire (the gateway's defaults apply)."""

    name: str
    version: str
    description: str | None = None
    package_id: str | None = Field(default=None, alias="packageId")
    package_name: str | None = Field(default=None, alias="packageName")
    package_version: str | None = Field(default=None, alias="packageVersion")
    default_values: dict[str, Any] | None = Field(default=None, alias="defaultValues")
    parameter_schema: dict[str, Any] = Field(alias="parameterSchema")
    placement: Placement
    lifecycle: Lifecycle | None = None
    extensions: dict[str, Any] | None = None


class DeploymentTemplate(DeploymentTemplateData):
    """A stored template: the data and what the gateway assigned."""

    deployment_template_id: str = Field(alias="deploymentTemplateId")
    created_at: str | None = Field(default=None, alias="createdAt")
    updated_at: str | None = Field(default=None, alias="updatedAt")


class TemplateDeploymentRequest(_Wire):
    """`POST /o2dms/v1/deployments` from a template: its parameters instead of name, namespace, package and values."""

    deployment_template_id: str = Field(alias="deploymentTemplateId")
    parameters: dict[str, Any] = Field(default_factory=dict)


class TemplateUpgradeRequest(_Wire):
    """`POST …/deployments/{id}/upgrade` to a template; without `parameters` the deployment's own are re-checked."""

    deployment_template_id: str = Field(alias="deploymentTemplateId")
    parameters: dict[str, Any] | None = None
