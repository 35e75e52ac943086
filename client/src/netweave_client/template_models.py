"""Deploying from an O2dms deployment template. The templates themselves are the generated models (re-exported here);
the two request forms are written by hand: the gateway's document has one create and one upgrade schema, whose
template form (`deploymentTemplateId` + `parameters`) a validator keeps apart from the package form."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from netweave_client.models import DeploymentTemplate, DeploymentTemplateData, Lifecycle, Placement

__all__ = ["DeploymentTemplate", "DeploymentTemplateData", "Lifecycle", "Placement", "TemplateDeploymentRequest",
           "TemplateUpgradeRequest"]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class TemplateDeploymentRequest(_Wire):
    """`POST /o2dms/v1/deployments` from a template: its parameters instead of name, namespace, package and values."""

    deployment_template_id: str = Field(alias="deploymentTemplateId")
    parameters: dict[str, Any] = Field(default_factory=dict)


class TemplateUpgradeRequest(_Wire):
    """`POST …/deployments/{id}/upgrade` to a template; without `parameters` the deployment's own are re-checked."""

    deployment_template_id: str = Field(alias="deploymentTemplateId")
    parameters: dict[str, Any] | None = None
