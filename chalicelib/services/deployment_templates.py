"""Deployment template use cases: create, get, list, replace (PUT), delete (docs/dms.md, "Deployment templates").

Everything a deployment made from the template could trip over is checked when the template is stored, so no site
finds out: the package reference resolves (and the caller may see the package), every placement placeholder is a
required scalar parameter of the schema, the DMS backend named exists, the resource pool filter parses, the default
values fit. A name + version reference is stored as given and resolved again when a deployment is made (the package
may be re-uploaded under the same name and version meanwhile; a packageId pins one upload).

A template some deployment was made from (or upgraded to) is immutable: PUT and DELETE answer 409 naming them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib.adapters.store.deployment_template_store import (
    START_KEY_ATTRIBUTES,
    DeploymentTemplateStore,
    start_key_after,
)
from chalicelib.domain.deployment_templates import (
    DEPLOYMENT_TEMPLATE_SELECTOR_SCHEMA,
    DeploymentTemplate,
    DeploymentTemplateData,
    dummy_filled,
    placeholder_problems,
)
from chalicelib.domain.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidQuery,
    NotFound,
    UnprocessableContent,
)
from chalicelib.domain.events import EventPublisher, utc_now_iso
from chalicelib.domain.packages import DeploymentPackage
from chalicelib.domain.query import parse_filter
from chalicelib.domain.selectors import Selection, apply_selection, validate_selection
from chalicelib.domain.template_events import TemplateEventType, template_event
from chalicelib.domain.tenancy import Access
from chalicelib.services.announce import publish_or_undo
from chalicelib.services.deployments import MAX_VALUES_BYTES  # the default values become a deployment's values
from chalicelib.services.paging import ListRequest, Page, list_models

_SHOWN_IDS = 10  # deployments named in a 409; the count says how many more


class TemplateRejected(UnprocessableContent):
    slug = "invalid-deployment-template"


class TemplateInUse(Conflict):
    slug = "deployment-template-in-use"


class PackageLookup(Protocol):
    """Port: the package store's reads."""

    def get(self, package_id: str) -> DeploymentPackage | None: ...
    def find_by_name(self, name: str, version: str) -> DeploymentPackage | None: ...


class TemplateUsage(Protocol):
    """Port: the deployments made from (or upgraded to) a template (the deployment store)."""

    def using_template(self, template_id: str) -> list[str]: ...


@dataclass(frozen=True)
class DeploymentTemplatePorts:
    store: DeploymentTemplateStore
    deployments: TemplateUsage
    packages: PackageLookup
    dms_adapters: Collection[str]  # the configured DMS backends' ids (placement.dmsAdapter must be one)
    publisher: EventPublisher | None = None  # TemplateCreated/TemplateDeleted for DMS subscribers
    shared_catalogue: bool = True  # False with NETWEAVE_PACKAGES_PER_TENANT: a template is its owner's
    max_per_tenant: int = 50
    clock: Callable[[], str] = utc_now_iso


def create_template(ports: DeploymentTemplatePorts, data: DeploymentTemplateData, access: Access
                    ) -> DeploymentTemplate:
    """Store a new template owned by the caller's tenant: 409 if its name + version exist, 403 over the quota."""
    check_template(ports, data, access)
    now = ports.clock()
    template = _stored(data, str(uuid.uuid4()), now, now, access.tenant)
    ports.store.create(template, ports.max_per_tenant)
    _announce(ports, template, TemplateEventType.CREATED, undo=lambda: ports.store.delete(template))
    return template


def get_template(store: DeploymentTemplateStore, template_id: str, selection: Selection, *,
                 access: Access) -> dict[str, Any]:
    validate_selection(selection, DEPLOYMENT_TEMPLATE_SELECTOR_SCHEMA)
    return apply_selection(find(store, template_id, access).to_wire(), selection, DEPLOYMENT_TEMPLATE_SELECTOR_SCHEMA)


def list_templates(store: DeploymentTemplateStore, request: ListRequest, *, access: Access) -> Page:
    visible = (lambda template: access.sees_package(template.owner)) if access.packages_per_tenant else None
    return list_models(request, DEPLOYMENT_TEMPLATE_SELECTOR_SCHEMA, store.page, start_key_after,
                       scope="deploymentTemplates", key_attributes=START_KEY_ATTRIBUTES, visible=visible)


def replace_template(ports: DeploymentTemplatePorts, template_id: str, data: DeploymentTemplateData,
                     access: Access, shown: dict[str, Any] | None = None) -> DeploymentTemplate:
    """PUT: the new data under the same id. `shown`: the server-assigned fields the body sent back (a GET answer
    modified and sent back); each must be what netweave shows, else 422."""
    current = _changeable(ports.store, template_id, access)
    _check_shown(current, shown or {})
    _check_unused(ports, current, "replaced: versions are immutable once used — publish a new version")
    check_template(ports, data, access)
    new = _stored(data, current.deployment_template_id, current.created_at, ports.clock(), current.owner)
    ports.store.replace(current, new)
    return new


def delete_template(ports: DeploymentTemplatePorts, template_id: str, *, access: Access) -> None:
    template = _changeable(ports.store, template_id, access)
    _check_unused(ports, template, "deleted: delete those deployments first")
    ports.store.delete(template)
    _announce(ports, template, TemplateEventType.DELETED, undo=lambda: ports.store.create(template, None))


def find(store: DeploymentTemplateStore, template_id: str, access: Access) -> DeploymentTemplate:
    """The template, if the caller may see it (the catalogue's tenancy, as packages: docs/o2-conventions.md §6)."""
    template = store.get(template_id)
    if template is None or not access.sees_package(template.owner):
        raise NotFound(f"no deployment template with id '{template_id}'")
    return template


def check_template(ports: DeploymentTemplatePorts, data: DeploymentTemplateData, access: Access) -> None:
    """Every rule a stored template must pass (the module docstring)."""
    _check_package(ports.packages, data, access)
    problems = placeholder_problems(data)
    if problems:
        raise TemplateRejected("; ".join(problems))
    adapter = data.placement.dms_adapter
    if adapter is not None and adapter not in ports.dms_adapters:
        raise TemplateRejected(f"placement.dmsAdapter: no DMS backend '{adapter}' is configured (configured: "
                               f"{', '.join(sorted(ports.dms_adapters)) or 'none'})")
    if data.placement.resource_pool_filter:
        try:
            parse_filter(dummy_filled(data.placement.resource_pool_filter))
        except InvalidQuery as error:
            raise InvalidQuery(f"placement.resourcePoolFilter: {error.detail}") from None
    size = len(json.dumps(data.default_values, separators=(",", ":")).encode())
    if size > MAX_VALUES_BYTES:
        raise BadRequest(f"defaultValues: {size} bytes of JSON; at most {MAX_VALUES_BYTES} are accepted")


def _check_package(packages: PackageLookup, data: DeploymentTemplateData, access: Access) -> None:
    if data.package_id is not None:
        package = packages.get(data.package_id)
        if package is None or not access.sees_package(package.owner):
            raise TemplateRejected(f"packageId: no deployment package with id '{data.package_id}'")
        return
    name, version = str(data.package_name), str(data.package_version)
    package = packages.find_by_name(name, version)
    if package is None or not access.sees_package(package.owner):
        raise TemplateRejected(f"packageName, packageVersion: no deployment package '{name}' version '{version}'")


def _changeable(store: DeploymentTemplateStore, template_id: str, access: Access) -> DeploymentTemplate:
    """Only the owner's tenant or an admin changes a template; in the shared catalogue others see it but get 403."""
    template = find(store, template_id, access)
    if not access.sees(template.owner):
        raise Forbidden(f"deployment template '{template_id}' belongs to another tenant: only that tenant or an "
                        "admin may change or delete it")
    return template


def _check_unused(ports: DeploymentTemplatePorts, template: DeploymentTemplate, consequence: str) -> None:
    users = ports.deployments.using_template(template.deployment_template_id)
    if users:
        more = f" and {len(users) - _SHOWN_IDS} more" if len(users) > _SHOWN_IDS else ""
        raise TemplateInUse(f"deployment template '{template.deployment_template_id}' ({template.label}) is used by "
                            f"{len(users)} deployment(s): {', '.join(sorted(users)[:_SHOWN_IDS])}{more}; it cannot be "
                            f"{consequence}")


def _check_shown(current: DeploymentTemplate, shown: dict[str, Any]) -> None:
    actual = {"deploymentTemplateId": current.deployment_template_id, "createdAt": current.created_at,
              "updatedAt": current.updated_at}
    for name, value in shown.items():
        if name in actual and value != actual[name]:
            raise UnprocessableContent(f"{name}: netweave assigns it ('{actual[name]}'); send that value or leave "
                                       "it out")


def _stored(data: DeploymentTemplateData, template_id: str, created_at: str, updated_at: str,
            owner: str | None) -> DeploymentTemplate:
    return DeploymentTemplate.model_validate({
        **data.model_dump(by_alias=True, mode="json", exclude_none=True), "deploymentTemplateId": template_id,
        "createdAt": created_at, "updatedAt": updated_at, "owner": owner})


def _announce(ports: DeploymentTemplatePorts, template: DeploymentTemplate, event_type: TemplateEventType,
              undo: Callable[[], None]) -> None:
    """Publish the template's event, or undo the change and answer 503 (services/announce.py): no template exists
    without its TemplateCreated."""
    if ports.publisher is None:
        return
    event = template_event(template, event_type, shared=ports.shared_catalogue, at=ports.clock())
    publish_or_undo(ports.publisher, event, undo, f"deployment template '{template.deployment_template_id}'")
