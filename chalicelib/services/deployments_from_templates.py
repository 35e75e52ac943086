"""Deployments from deployment templates (docs/dms.md, "Deployments from templates"): `POST /o2dms/v1/deployments`
with `deploymentTemplateId` + `parameters`, and the upgrade of such a deployment to another version of its template.

Everything a template decides is checked before anything is stored or queued: the template is visible, the
parameters satisfy its schema, its package exists, its resource pool filter picks exactly one pool. Then the normal
creation (or upgrade operation) runs, with the template's origin recorded in the deployment's extensions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.domain.deployment_templates import DeploymentTemplate, ResolvedDeployment, resolve
from chalicelib.domain.deployments import Deployment, Operation, OperationType
from chalicelib.domain.errors import InvalidQuery, UnprocessableContent
from chalicelib.domain.inventory import SELECTOR_SCHEMAS, ObjectType
from chalicelib.domain.packages import DeploymentPackage
from chalicelib.domain.query import parse_filter, validate_filter
from chalicelib.domain.tenancy import Access
from chalicelib.services.deployments import (
    DeploymentPorts,
    NewDeployment,
    ReferenceNotFound,
    check_rollback_on_failure,
    create_deployment,
    find,
    request_operation,
)
from chalicelib.services.dms_results import ROLLBACK_ON_FAILURE, TEMPLATE_RECORD

TEMPLATE_ID, TEMPLATE_NAME, TEMPLATE_VERSION = "deploymentTemplateId", "deploymentTemplateName", \
    "deploymentTemplateVersion"
PARAMETERS = "parameters"


class PoolFilterNotSingle(UnprocessableContent):
    """A template's resource pool filter must pick exactly one pool: the deployment's resourcePoolId."""

    slug = "resource-pool-filter"


class TemplateUpgradeRefused(UnprocessableContent):
    slug = "template-upgrade-refused"


@dataclass(frozen=True)
class TemplatedDeployment:
    template_id: str
    parameters: Any
    timeout_seconds: int | None = None  # None: the template's lifecycle.timeoutSeconds
    labels: dict[str, str] | None = None  # for routing rules, as a deployment's extensions.labels


def create_from_template(ports: DeploymentPorts, request: TemplatedDeployment, *,
                         access: Access) -> tuple[Deployment, Operation]:
    template = _template(ports, request.template_id, access)
    resolved = resolve(template, request.parameters)  # 400 naming each bad parameter, before anything is written
    package = _package(ports, template, access)
    new = NewDeployment(
        name=resolved.name, namespace=resolved.namespace, package_id=package.package_id, values=resolved.values,
        resource_pool_id=_pool_id(ports, resolved.resource_pool_filter),
        timeout_seconds=request.timeout_seconds or resolved.timeout_seconds,
        deployment_type=resolved.deployment_type, adapter_id=resolved.dms_adapter, labels=request.labels,
        extensions=template_record(template, resolved))
    return create_deployment(ports, new, access=access)


def upgrade_to_template(ports: DeploymentPorts, deployment_id: str, template_id: str, parameters: Any | None,
                        timeout_seconds: int | None, *, access: Access) -> Operation:
    """Another version of the deployment's own template; `parameters` omitted: the ones the deployment recorded,
    checked again against the new version's schema. The record moves to the new version once the upgrade
    succeeds (dms_results.succeed)."""
    deployment = find(ports.store, deployment_id, access)
    template = _template(ports, template_id, access)
    resolved = resolve(template, _upgrade_parameters(deployment, template, parameters))
    if (resolved.name, resolved.namespace) != (deployment.name, deployment.namespace):
        raise TemplateUpgradeRefused(
            f"{TEMPLATE_ID}: template {template.label} places the release at {resolved.namespace}/{resolved.name}, "
            f"the deployment runs at {deployment.namespace}/{deployment.name}: a release cannot move; create a new "
            "deployment instead")
    if resolved.rollback_on_failure:
        check_rollback_on_failure(ports.registry.get(deployment.adapter_id))
    package = _package(ports, template, access)
    operation_parameters = {"packageId": package.package_id, "values": resolved.values,
                            ROLLBACK_ON_FAILURE: resolved.rollback_on_failure,
                            TEMPLATE_RECORD: template_record(template, resolved)}
    return request_operation(ports, deployment_id, OperationType.UPGRADE, operation_parameters,
                             timeout_seconds or resolved.timeout_seconds, access=access)


def _upgrade_parameters(deployment: Deployment, template: DeploymentTemplate, parameters: Any | None) -> Any:
    recorded = deployment.extensions.get(TEMPLATE_NAME)
    if recorded is None:
        raise TemplateUpgradeRefused(f"{TEMPLATE_ID}: deployment '{deployment.deployment_id}' was made without a "
                                     "template; upgrade it with packageId")
    if template.name != recorded:
        raise TemplateUpgradeRefused(f"{TEMPLATE_ID}: template {template.label} is not a version of '{recorded}', "
                                     "the template the deployment was made from")
    return parameters if parameters is not None else deployment.extensions.get(PARAMETERS, {})


def template_record(template: DeploymentTemplate, resolved: ResolvedDeployment) -> dict[str, Any]:
    """What a deployment records of the template it came from (its extensions)."""
    record: dict[str, Any] = {TEMPLATE_ID: template.deployment_template_id, TEMPLATE_NAME: template.name,
                              TEMPLATE_VERSION: template.version, PARAMETERS: resolved.parameters}
    if resolved.rollback_on_failure:
        record[ROLLBACK_ON_FAILURE] = True
    return record


def _template(ports: DeploymentPorts, template_id: str, access: Access) -> DeploymentTemplate:
    """Visible like a package (the catalogue may be shared); another tenant's is answered like an unknown one."""
    template = ports.templates.get(template_id) if ports.templates is not None else None
    if template is None or not access.sees_package(template.owner):
        raise ReferenceNotFound(f"{TEMPLATE_ID}: no deployment template with id '{template_id}'")
    return template


def _package(ports: DeploymentPorts, template: DeploymentTemplate, access: Access) -> DeploymentPackage:
    if template.package_id is not None:
        package = ports.packages.get(template.package_id)
        wanted = f"id '{template.package_id}'"
    else:
        package = ports.packages.find_by_name(str(template.package_name), str(template.package_version))
        wanted = f"name '{template.package_name}' version '{template.package_version}'"
    if package is None or not access.sees_package(package.owner):
        raise ReferenceNotFound(f"{TEMPLATE_ID}: template {template.label} names a deployment package with {wanted}, "
                                "which does not exist")
    return package


def _pool_id(ports: DeploymentPorts, pool_filter: str | None) -> str | None:
    """The one stored resource pool the filled filter matches (its node selector then places the deployment)."""
    if pool_filter is None:
        return None
    try:
        parsed = parse_filter(pool_filter)
        validate_filter(parsed, SELECTOR_SCHEMAS[ObjectType.RESOURCE_POOL])
    except InvalidQuery as error:
        raise PoolFilterNotSingle(f"placement.resourcePoolFilter '{pool_filter}': {error.detail}") from None
    matched = [pool for pool in ports.resource_pools() if parsed.matches(pool)]
    if len(matched) != 1:
        raise PoolFilterNotSingle(f"placement.resourcePoolFilter '{pool_filter}' matches {len(matched)} resource "
                                  "pools; it must match exactly one")
    return str(matched[0]["resourcePoolId"])
