"""Infrastructure templates (issue 22): the versioned recipes an O2ims provisioning request names
(`templateName` + `templateVersion`), their parameters checked against a JSON Schema before anything is created.
What an SMO sees of them: docs/provisioning.md "Templates".

Pure: no I/O. `jsonschema` is imported only where a schema is checked or parameters are validated, so a cold start
that serves other routes never loads it (docs/architecture.md §1, "Each function pays only for what it uses").
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import Field

from chalicelib.domain import json_schema
from chalicelib.domain.errors import BadRequest, ConfigurationError, NotFound, UnprocessableContent
from chalicelib.domain.models import WireModel
from chalicelib.domain.selectors import SelectorSchema
from chalicelib.domain.shipped_templates import SHIPPED_TEMPLATES

# artifactResourceId = uuid5(this, "<name>.<version>"): the same id on every deployment and redeploy.
TEMPLATE_NAMESPACE = uuid.UUID("3c7e2f0a-8d41-5b6e-9f20-6a1d4e8b7c52")
# Bigger parameters are refused before validation: a schema check walks all of them, and no pool needs this much.
MAX_PARAMETERS_BYTES = 64 * 1024
PARAMETERS = "templateParameters"


class TemplateKind(StrEnum):
    EKS_NODEGROUP = "eks-nodegroup"
    DTIAS_RESOURCE_GROUP = "dtias-resource-group"


# The IMS backend type that carries out each kind (docs/architecture.md §3).
BACKEND_TYPES: dict[TemplateKind, str] = {TemplateKind.EKS_NODEGROUP: "aws", TemplateKind.DTIAS_RESOURCE_GROUP: "dtias"}


class UnknownTemplate(UnprocessableContent):
    """A provisioning request names a template (or version) this gateway does not have."""

    slug = "unknown-template"


class TemplateParametersInvalid(BadRequest):
    """`templateParameters` the template's schema refuses; `invalid_parameters` lists each (RFC 9457 `invalidParams`,
    added to the ProblemDetails body by api/problems.py)."""

    slug = "invalid-template-parameters"

    def __init__(self, invalid_parameters: list[dict[str, str]]) -> None:
        super().__init__("invalid templateParameters: "
                         + "; ".join(f"{p['name']}: {p['reason']}" for p in invalid_parameters))
        self.invalid_parameters = invalid_parameters


class ManagedInfrastructureTemplate(WireModel):
    """A template as the O2ims Infrastructure Artifacts API shows it (oran-o2ims's shape)."""

    artifact_resource_id: str = Field(alias="artifactResourceId")
    name: str
    version: str
    description: str
    parameter_schema: dict[str, Any] = Field(alias="parameterSchema")
    characteristics: dict[str, Any] = Field(default_factory=dict)
    extensions: dict[str, Any] = Field(default_factory=dict)


TEMPLATE_SELECTOR_SCHEMA = SelectorSchema(
    attributes=frozenset(ManagedInfrastructureTemplate.model_fields[f].alias or f
                         for f in ManagedInfrastructureTemplate.model_fields),
    identifiers=frozenset({"artifactResourceId"}),
    open_attributes=frozenset({"parameterSchema", "characteristics", "extensions"}),
)


@dataclass(frozen=True)
class InfrastructureTemplate:
    name: str
    version: str
    description: str
    kind: TemplateKind
    parameter_schema: dict[str, Any]
    backend: str | None = None  # the IMS adapter id; None: no backend of the kind's type is configured
    defaults: dict[str, Any] = field(default_factory=dict)
    characteristics: dict[str, Any] = field(default_factory=dict)
    extensions: dict[str, Any] = field(default_factory=dict)

    @property
    def template_id(self) -> str:
        return f"{self.name}.{self.version}"  # oran-o2ims's id of a template

    @property
    def artifact_resource_id(self) -> str:
        return str(uuid.uuid5(TEMPLATE_NAMESPACE, self.template_id))

    def wire_model(self) -> ManagedInfrastructureTemplate:
        extensions = {**self.extensions, "templateKind": self.kind.value}
        if self.backend is not None:
            extensions["imsAdapter"] = self.backend
        return ManagedInfrastructureTemplate(
            artifact_resource_id=self.artifact_resource_id, name=self.name, version=self.version,
            description=self.description, parameter_schema=self.parameter_schema,
            characteristics=self.characteristics, extensions=extensions)

    def to_wire(self) -> dict[str, Any]:
        return self.wire_model().to_wire()


def template_from_spec(spec: Mapping[str, Any], backend: str | None = None) -> InfrastructureTemplate:
    """A template from its wire-style description (a shipped one, or the configuration's)."""
    return InfrastructureTemplate(
        name=spec["name"], version=spec["version"], description=spec.get("description", ""),
        kind=TemplateKind(spec["kind"]), backend=spec.get("backend") or backend,
        parameter_schema=copy.deepcopy(dict(spec["parameterSchema"])), defaults=copy.deepcopy(spec.get("defaults", {})),
        characteristics=copy.deepcopy(spec.get("characteristics", {})),
        extensions=copy.deepcopy(spec.get("extensions", {})))


# --- parameters --------------------------------------------------------------------------------------------------


def merged_parameters(defaults: Mapping[str, Any], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """`parameters` over `defaults`. An object given in both is merged one level deep (`labels` given adds to the
    default labels, a label given replaces the default one); anything else given replaces the default whole."""
    merged = copy.deepcopy(dict(defaults))
    for key, value in parameters.items():
        default = merged.get(key)
        if isinstance(default, dict) and isinstance(value, dict):
            merged[key] = {**default, **copy.deepcopy(value)}
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def resolve_parameters(template: InfrastructureTemplate, parameters: Any) -> dict[str, Any]:
    """The parameters a provisioning request gets from `template`: its defaults under `parameters`, checked against
    its schema. Raises `TemplateParametersInvalid` naming every parameter the schema refuses."""
    if not isinstance(parameters, dict):
        raise TemplateParametersInvalid([{"name": PARAMETERS, "reason": "must be a JSON object"}])
    size = len(json.dumps(parameters, separators=(",", ":")).encode())
    if size > MAX_PARAMETERS_BYTES:
        raise TemplateParametersInvalid(
            [{"name": PARAMETERS, "reason": f"{size} bytes of JSON; at most {MAX_PARAMETERS_BYTES} are accepted"}])
    merged = merged_parameters(template.defaults, parameters)
    invalid = schema_errors(template, merged)
    if invalid:
        raise TemplateParametersInvalid(invalid)
    return merged


def schema_errors(template: InfrastructureTemplate, document: Any, partial: bool = False) -> list[dict[str, str]]:
    """Every error of `document` against the template's schema, as `{name, reason}`, sorted by parameter path.
    `partial`: the document need not hold the required parameters (a template's defaults)."""
    return json_schema.errors(template.parameter_schema, document, PARAMETERS, f"template {template.template_id}",
                              partial)


# Parameter -> PoolRequest field (chalicelib/adapters/ims/port.py); every other parameter goes to `extensions`.
POOL_FIELDS = {"poolName": "name", "size": "replicas", "location": "location", "instanceType": "instance_type"}


def pool_request_fields(merged: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of the PoolRequest a provisioning request creates from resolved parameters: `name`,
    `replicas`, `location`, `instance_type` (None when absent: the service derives a name from the request id) and
    `extensions`, every other parameter verbatim. A dict: the domain cannot import the adapters' port."""
    fields: dict[str, Any] = {target: merged.get(source) for source, target in POOL_FIELDS.items()}
    fields["extensions"] = {k: copy.deepcopy(v) for k, v in merged.items() if k not in POOL_FIELDS}
    return fields


# --- the registry ------------------------------------------------------------------------------------------------


_NUMBER = re.compile(r"[0-9]+")


def _version_key(version: str) -> tuple[tuple[int, int, str], ...]:
    """1.10.0 after 1.9.0: numeric parts compare as numbers."""
    return tuple((0, int(p), "") if _NUMBER.fullmatch(p) else (1, 0, p) for p in re.split(r"[.+-]", version))


def sort_key(name: str, version: str) -> tuple[str, tuple[tuple[int, int, str], ...]]:
    return name, _version_key(version)


class TemplateRegistry:
    """The shipped templates and the operator's, checked when built: unique name+version, valid schemas."""

    def __init__(self, templates: Iterable[InfrastructureTemplate]) -> None:
        ordered = sorted(templates, key=lambda t: sort_key(t.name, t.version))
        seen: set[str] = set()
        for template in ordered:
            if template.template_id in seen:
                raise ConfigurationError(f"provisioningTemplates: template {template.name} version "
                                         f"{template.version} is defined twice (a shipped one cannot be redefined)")
            seen.add(template.template_id)
            _check_template(template)
        self._templates = tuple(ordered)
        self._by_id = {t.template_id: t for t in ordered} | {t.artifact_resource_id: t for t in ordered}

    def all(self) -> tuple[InfrastructureTemplate, ...]:
        return self._templates

    def after(self, name: str, version: str) -> tuple[InfrastructureTemplate, ...]:
        """The templates that sort after name+version (which need not exist): where a page resumes."""
        key = sort_key(name, version)
        return tuple(t for t in self._templates if sort_key(t.name, t.version) > key)

    def find(self, template_id: str) -> InfrastructureTemplate:
        """By artifactResourceId or `<name>.<version>`."""
        template = self._by_id.get(template_id)
        if template is None:
            raise NotFound(f"no managed infrastructure template '{template_id[:200]}'")
        return template

    def get(self, name: str, version: str) -> InfrastructureTemplate:
        template = self._by_id.get(f"{name}.{version}")
        if template is not None and template.name == name and template.version == version:
            return template
        versions = [t.version for t in self._templates if t.name == name]
        if versions:
            raise UnknownTemplate(f"template '{name}' has no version '{version[:100]}'; its versions: "
                                  + ", ".join(versions))
        raise UnknownTemplate(f"no template named '{name[:100]}'; templates: "
                              + ", ".join(sorted({t.name for t in self._templates})))


def _check_template(template: InfrastructureTemplate) -> None:
    where = f"provisioningTemplates: template {template.name} version {template.version}"
    problem = json_schema.check_schema(template.parameter_schema)
    if problem is not None:
        raise ConfigurationError(f"{where}: parameterSchema {problem} (Draft 2020-12)")
    if template.parameter_schema.get("type") != "object":
        raise ConfigurationError(f'{where}: parameterSchema must describe an object ("type": "object")')
    invalid = schema_errors(template, template.defaults, partial=True)
    if invalid:
        raise ConfigurationError(f"{where}: its defaults do not fit its parameterSchema: "
                                 + "; ".join(f"{p['name']}: {p['reason']}" for p in invalid))


def template_registry(configured: Sequence[Mapping[str, Any]],
                      ims_adapters: Sequence[tuple[str, str]]) -> TemplateRegistry:
    """The shipped templates plus `configured` (provisioningTemplates), each with its backend: the one configured,
    else the first IMS backend (`ims_adapters`: id, type, in configuration order) of its kind's type."""
    first_of_type: dict[str, str] = {}
    for adapter_id, adapter_type in ims_adapters:
        first_of_type.setdefault(adapter_type, adapter_id)
    types = dict(ims_adapters)
    templates = []
    for spec in (*SHIPPED_TEMPLATES, *configured):
        kind = TemplateKind(spec["kind"])
        backend = spec.get("backend")
        if backend is not None and types.get(backend) != BACKEND_TYPES[kind]:
            raise ConfigurationError(f"provisioningTemplates: template {spec['name']} version {spec['version']}: "
                                     f"backend '{backend}' is not an IMS backend of type {BACKEND_TYPES[kind]}")
        templates.append(template_from_spec(spec, first_of_type.get(BACKEND_TYPES[kind])))
    return TemplateRegistry(templates)
