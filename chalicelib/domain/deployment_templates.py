"""O2dms deployment templates (docs/dms.md, "Deployment templates"): a named, versioned deployment pattern, and the
rule that turns a template and a deployment's few parameters into a full deployment. Pure.

A template holds a package reference (its id, or its name and version), default Helm values, a JSON Schema of the
parameters a deployment may set, placement defaults (the release name and namespace as patterns such as
`du-{site}`, a resource pool filter in the O2 query language, the deployment type or backend) and lifecycle
defaults (timeout, rollback on failure). A deployment made from it sends only `parameters`: they are checked against
the schema before anything is queued, merged over the default values, and fill the placement patterns.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import Field, field_validator, model_validator

from chalicelib.domain import json_schema
from chalicelib.domain.deployments import check_namespace, check_release_name
from chalicelib.domain.errors import BadRequest
from chalicelib.domain.models import WireModel
from chalicelib.domain.selectors import SelectorSchema

TEMPLATES_PATH = "/o2dms/v1/deploymentTemplates"
PARAMETERS = "parameters"
MAX_PARAMETERS_BYTES = 64 * 1024
MIN_TIMEOUT, MAX_TIMEOUT = 10, 840  # as a deployment's timeoutSeconds (api/deployments.py)
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_VERSION = r"^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$"
_NAME = r"^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$"
_SCALAR_TYPES = frozenset({"string", "integer", "boolean"})  # what `fill` can write into a name
_FILTER = "resourcePoolFilter"
_FILTER_SYNTAX = re.compile(r"""[(),;|'"]""")


class DeploymentParametersInvalid(BadRequest):
    """Parameters a template's schema refuses; every one is named (`invalidParams` in the ProblemDetails)."""

    slug = "invalid-deployment-parameters"

    def __init__(self, invalid_parameters: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{p['name']}: {p['reason']}" for p in invalid_parameters))
        self.invalid_parameters = invalid_parameters


class Placement(WireModel):
    """Where a deployment made from the template goes. Patterns: `{parameter}` is replaced by that parameter's value
    (a string, integer or boolean parameter; the result must still be a valid name)."""

    name: str | None = Field(default=None, max_length=256, description="release name pattern; default: the "
                             "template's name")
    namespace: str = Field(min_length=1, max_length=256, description="namespace pattern, e.g. du-{site}")
    resource_pool_filter: str | None = Field(default=None, alias="resourcePoolFilter", max_length=1024,
                                             description="O2 filter pattern that must match exactly one resource "
                                             "pool, e.g. (eq,name,du-{site})")
    deployment_type: str | None = Field(default=None, alias="deploymentType", max_length=64)
    dms_adapter: str | None = Field(default=None, alias="dmsAdapter", max_length=64)


class Lifecycle(WireModel):
    timeout_seconds: int | None = Field(default=None, alias="timeoutSeconds", ge=MIN_TIMEOUT, le=MAX_TIMEOUT)
    rollback_on_failure: bool = Field(default=False, alias="rollbackOnFailure",
                                      description="a failed upgrade rolls back to the last good revision, where the "
                                      "backend can (helm: --atomic)")


class DeploymentTemplateData(WireModel):
    """What an SMO sends (POST, PUT)."""

    name: str = Field(pattern=_NAME, description="DNS-1123 label, at most 53 characters")
    version: str = Field(pattern=_VERSION)
    description: str = Field(default="", max_length=1024)
    package_id: str | None = Field(default=None, alias="packageId", max_length=128)
    package_name: str | None = Field(default=None, alias="packageName", max_length=253)
    package_version: str | None = Field(default=None, alias="packageVersion", max_length=128)
    default_values: dict[str, Any] = Field(default_factory=dict, alias="defaultValues")
    parameter_schema: dict[str, Any] = Field(alias="parameterSchema", description="JSON Schema (Draft 2020-12) of "
                                             "an object: the parameters a deployment may set")
    placement: Placement
    lifecycle: Lifecycle = Field(default_factory=Lifecycle)
    extensions: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_package_reference(self) -> DeploymentTemplateData:
        by_name = self.package_name is not None or self.package_version is not None
        if (self.package_id is None) == (not by_name) or (by_name and not (self.package_name and
                                                                             self.package_version)):
            raise ValueError("give the package as packageId, or as packageName and packageVersion (not both)")
        return self

    @field_validator("parameter_schema")
    @classmethod
    def _object_schema(cls, schema: dict[str, Any]) -> dict[str, Any]:
        problem = json_schema.check_schema(schema)
        if problem is not None:
            raise ValueError(problem)
        if schema.get("type") != "object":
            raise ValueError('must describe an object ("type": "object")')
        return schema


class DeploymentTemplate(DeploymentTemplateData):
    """A stored template: the data plus what netweave assigns."""

    deployment_template_id: str = Field(alias="deploymentTemplateId")
    created_at: str = Field(alias="createdAt")
    updated_at: str = Field(alias="updatedAt")
    # The tenant that created it (docs/o2-conventions.md §6): beside the document, never shown.
    owner: str | None = Field(default=None, exclude=True)

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"


DEPLOYMENT_TEMPLATE_SELECTOR_SCHEMA = SelectorSchema(
    attributes=frozenset(f.alias or name for name, f in DeploymentTemplate.model_fields.items() if name != "owner"),
    identifiers=frozenset({"deploymentTemplateId"}),
    open_attributes=frozenset({"extensions", "defaultValues", "parameterSchema", "placement", "lifecycle"}),
)


@dataclass(frozen=True)
class ResolvedDeployment:
    """A deployment as a template and its parameters make it: what `POST /o2dms/v1/deployments` then carries out."""

    name: str
    namespace: str
    values: dict[str, Any]
    parameters: dict[str, Any]  # as checked (the deployment records them: an upgrade re-checks the same ones)
    resource_pool_filter: str | None
    deployment_type: str | None
    dms_adapter: str | None
    timeout_seconds: int | None
    rollback_on_failure: bool


def check_parameters(template: DeploymentTemplateData, parameters: Any) -> dict[str, Any]:
    """The parameters, if the template's schema accepts them; else every refusal named."""
    if not isinstance(parameters, dict):
        raise DeploymentParametersInvalid([{"name": PARAMETERS, "reason": "must be a JSON object"}])
    size = len(json.dumps(parameters, separators=(",", ":")).encode())
    if size > MAX_PARAMETERS_BYTES:
        raise DeploymentParametersInvalid(
            [{"name": PARAMETERS, "reason": f"{size} bytes of JSON; at most {MAX_PARAMETERS_BYTES} are accepted"}])
    invalid = json_schema.errors(template.parameter_schema, parameters, PARAMETERS,
                                 f"template {template.name} {template.version}")
    if invalid:
        raise DeploymentParametersInvalid(invalid)
    return parameters


def merged_values(defaults: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    """The parameters over the default values, objects merged at every depth (a parameter `du: {cellId}` keeps the
    default `du.bandwidth`); anything else given replaces the default."""
    merged = copy.deepcopy(defaults)
    for key, value in parameters.items():
        if isinstance(merged.get(key), dict) and isinstance(value, dict):
            merged[key] = merged_values(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def fill(pattern: str, parameters: dict[str, Any], field: str) -> str:
    """`pattern` with each `{parameter}` replaced by its value; a missing or non-scalar parameter is a 400 naming
    the placement field."""
    def value(match: re.Match[str]) -> str:
        name = match[1]
        found = parameters.get(name)
        if isinstance(found, bool):
            return str(found).lower()
        if isinstance(found, str) and field == _FILTER and _FILTER_SYNTAX.search(found):
            # A value is written into the filter's text: its own syntax would make another filter.
            raise DeploymentParametersInvalid([{"name": f"{PARAMETERS}.{name}", "reason": "is written into "
                                                f"placement.{field} and may not contain ( ) , ; | ' or \""}])
        if isinstance(found, str | int):
            return str(found)
        raise DeploymentParametersInvalid([{"name": f"{PARAMETERS}.{name}", "reason": f"is needed by placement."
                                            f"{field} ('{pattern}') and must be a string, integer or boolean"}])

    return _PLACEHOLDER.sub(value, pattern)


def resolve(template: DeploymentTemplate, parameters: Any) -> ResolvedDeployment:
    """Check the parameters, merge them over the default values and fill the placement patterns."""
    checked = check_parameters(template, parameters)
    placement = template.placement
    name = fill(placement.name or template.name, checked, "name")
    namespace = fill(placement.namespace, checked, "namespace")
    try:
        check_release_name(name)
        check_namespace(namespace)
    except BadRequest as error:
        reason = f"the placement patterns give {error.detail}"
        raise DeploymentParametersInvalid([{"name": PARAMETERS, "reason": reason}]) from None
    pool_filter = fill(placement.resource_pool_filter, checked, _FILTER) \
        if placement.resource_pool_filter else None
    return ResolvedDeployment(
        name=name, namespace=namespace, values=merged_values(template.default_values, checked), parameters=checked,
        resource_pool_filter=pool_filter, deployment_type=placement.deployment_type,
        dms_adapter=placement.dms_adapter, timeout_seconds=template.lifecycle.timeout_seconds,
        rollback_on_failure=template.lifecycle.rollback_on_failure)


def placement_patterns(template: DeploymentTemplateData) -> dict[str, str]:
    """The placement patterns by wire name (`name`, `namespace`, `resourcePoolFilter`), those the template has."""
    placement = template.placement
    given = {"name": placement.name, "namespace": placement.namespace,
             "resourcePoolFilter": placement.resource_pool_filter}
    return {field: pattern for field, pattern in given.items() if pattern}


def template_placeholders(template: DeploymentTemplateData) -> set[str]:
    """The parameters the placement patterns use: each must be a required string/integer/boolean parameter of the
    schema (checked when a template is stored, so no deployment finds out)."""
    return {name for pattern in placement_patterns(template).values() for name in _PLACEHOLDER.findall(pattern)}


def placeholder_problems(template: DeploymentTemplateData) -> list[str]:
    """Why each placeholder of the placement patterns could be missing or no scalar when a deployment fills it: it
    must be a property of the schema, in its `required` list, of type string, integer or boolean."""
    schema = template.parameter_schema
    properties, required = schema.get("properties") or {}, schema.get("required") or []
    problems = []
    for field, pattern in placement_patterns(template).items():
        for name in dict.fromkeys(_PLACEHOLDER.findall(pattern)):
            declared = properties.get(name)
            kinds = declared.get("type") if isinstance(declared, dict) else None
            kinds = [kinds] if isinstance(kinds, str) else kinds
            if name not in properties or name not in required:
                problems.append(f"placement.{field}: '{{{name}}}' must be a required property of parameterSchema")
            elif not kinds or not set(kinds) <= _SCALAR_TYPES:
                problems.append(f"placement.{field}: parameter '{name}' must be of type string, integer or boolean")
    return problems


def dummy_filled(pattern: str) -> str:
    """A pattern with every placeholder replaced by one plain value: what a stored template's filter is parsed as."""
    return _PLACEHOLDER.sub("x", pattern)
