"""Deployment templates' rules (docs/dms.md, "Deployment templates"): a template's parameters are checked against its
schema, merged over its default values and fill its placement patterns; a template is refused when stored if a
deployment made from it could trip over its package reference, its placeholders, its backend or its filter."""

from __future__ import annotations

from typing import Any, cast

import pytest
from pydantic import ValidationError

from chalicelib.api.problems import from_error
from chalicelib.domain.deployment_templates import (
    DeploymentParametersInvalid,
    DeploymentTemplate,
    DeploymentTemplateData,
    check_parameters,
    fill,
    merged_values,
    placeholder_problems,
    resolve,
    template_placeholders,
)
from chalicelib.domain.errors import BadRequest, InvalidQuery, UnprocessableContent
from chalicelib.domain.packages import DeploymentPackage
from chalicelib.domain.tenancy import Access
from chalicelib.services.deployment_templates import DeploymentTemplatePorts, check_template

SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["site", "cellId"],
    "properties": {"site": {"type": "string", "pattern": "^[a-z0-9-]+$"},
                   "cellId": {"type": "integer", "minimum": 1, "maximum": 1007},
                   "bandwidth": {"enum": [20, 40, 100]},
                   "du": {"type": "object", "properties": {"cellId": {"type": "integer"}}}}}


def data(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "vdu", "version": "1.0.0", "packageId": "pkg-1",
        "defaultValues": {"replicaCount": 1, "du": {"bandwidth": 40, "cellId": 0}},
        "parameterSchema": SCHEMA,
        "placement": {"namespace": "du-{site}", "name": "vdu-{site}-{cellId}",
                      "resourcePoolFilter": "(eq,name,pool-{site})"},
        "lifecycle": {"timeoutSeconds": 300, "rollbackOnFailure": True},
    }
    body.update(changes)
    return body


def template(**changes: Any) -> DeploymentTemplate:
    return DeploymentTemplate.model_validate({**data(**changes), "deploymentTemplateId": "t-1",
                                              "createdAt": "2026-12-07T10:00:00Z", "updatedAt": "2026-12-07T10:00:00Z"})


def test_resolve_fills_the_placement_and_merges_the_parameters_over_the_defaults() -> None:
    resolved = resolve(template(), {"site": "north-1", "cellId": 42, "du": {"cellId": 42}})
    assert (resolved.name, resolved.namespace) == ("vdu-north-1-42", "du-north-1")
    assert resolved.resource_pool_filter == "(eq,name,pool-north-1)"
    assert resolved.values == {"replicaCount": 1, "site": "north-1", "cellId": 42,
                               "du": {"bandwidth": 40, "cellId": 42}}, "du.bandwidth kept, du.cellId replaced"
    assert (resolved.timeout_seconds, resolved.rollback_on_failure) == (300, True)


def test_every_bad_parameter_is_named_before_anything_happens() -> None:
    with pytest.raises(DeploymentParametersInvalid) as raised:
        resolve(template(), {"site": "North_1", "cellId": 5000, "colour": "red"})
    named = {p["name"] for p in raised.value.invalid_parameters}
    assert named == {"parameters.site", "parameters.cellId", "parameters.colour"}


def test_a_missing_required_parameter_is_named_and_shown_as_invalid_params() -> None:
    with pytest.raises(DeploymentParametersInvalid) as raised:
        check_parameters(template(), {"site": "a"})
    problem = from_error(raised.value)
    assert problem.status_code == 400
    assert '"invalidParams"' in problem.body and "parameters.cellId" in problem.body


def test_parameters_must_be_an_object() -> None:
    with pytest.raises(DeploymentParametersInvalid, match="must be a JSON object"):
        check_parameters(template(), ["site"])


def test_placement_that_makes_no_valid_namespace_is_refused_naming_parameters() -> None:
    loose = {**SCHEMA, "properties": {**SCHEMA["properties"], "site": {"type": "string"}}}
    with pytest.raises(DeploymentParametersInvalid, match="placement patterns give"):
        resolve(template(parameterSchema=loose), {"site": "Not_A_Namespace", "cellId": 1})


def test_fill_writes_booleans_as_helm_does_and_refuses_objects() -> None:
    assert fill("x-{on}-{n}", {"on": True, "n": 3}, "name") == "x-true-3"
    with pytest.raises(DeploymentParametersInvalid, match=r"placement.name"):
        fill("x-{du}", {"du": {"a": 1}}, "name")


def test_merged_values_leave_the_defaults_untouched() -> None:
    defaults = {"a": {"b": 1}}
    merged = merged_values(defaults, {"a": {"c": 2}, "d": [1]})
    assert merged == {"a": {"b": 1, "c": 2}, "d": [1]} and defaults == {"a": {"b": 1}}


def test_placeholders_are_collected_from_every_pattern() -> None:
    assert template_placeholders(DeploymentTemplateData.model_validate(data())) == {"site", "cellId"}


@pytest.mark.parametrize(("placement", "problem"), [
    ({"namespace": "du-{zone}"}, "placement.namespace: '{zone}' must be a required property"),
    ({"namespace": "du-{bandwidth}"}, "placement.namespace: '{bandwidth}' must be a required property"),
    ({"namespace": "du", "name": "vdu-{du}"}, "placement.name: '{du}' must be a required property"),
])
def test_a_placeholder_must_be_a_required_parameter(placement: dict[str, str], problem: str) -> None:
    assert placeholder_problems(DeploymentTemplateData.model_validate(data(placement=placement))) == [
        f"{problem} of parameterSchema"]


def test_a_placeholder_must_be_a_scalar_parameter() -> None:
    schema = {**SCHEMA, "required": ["site", "cellId", "du"]}
    problems = placeholder_problems(DeploymentTemplateData.model_validate(
        data(parameterSchema=schema, placement={"namespace": "du-{du}"})))
    assert problems == ["placement.namespace: parameter 'du' must be of type string, integer or boolean"]


@pytest.mark.parametrize(("changes", "field"), [
    ({"packageName": "vdu"}, "packageId, or as packageName and packageVersion"),
    ({"packageId": None, "packageName": "vdu"}, "packageId, or as packageName and packageVersion"),
    ({"parameterSchema": {"type": "array"}}, "must describe an object"),
    ({"parameterSchema": {"type": "object", "minProperties": -1}}, "is not a valid JSON Schema"),
    ({"name": "VDU"}, "name"),
    ({"lifecycle": {"timeoutSeconds": 5}}, "timeoutSeconds"),
])
def test_malformed_templates_are_refused(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        DeploymentTemplateData.model_validate(data(**changes))


def test_a_package_given_by_name_and_version_is_accepted() -> None:
    stored = DeploymentTemplateData.model_validate(data(packageId=None, packageName="vdu", packageVersion="1.0.0"))
    assert (stored.package_name, stored.package_version, stored.package_id) == ("vdu", "1.0.0", None)


# --- what the service checks when a template is stored ---------------------------------------------------------------

PACKAGE = DeploymentPackage(package_id="pkg-1", name="vdu-chart", version="1.0.0", uploaded_at="2026-12-07T10:00:00Z",
                            source="upload", checksum="sha256:" + "a" * 64, size=10, owner="tenant-a")


class Packages:
    def get(self, package_id: str) -> DeploymentPackage | None:
        return PACKAGE if package_id == PACKAGE.package_id else None

    def find_by_name(self, name: str, version: str) -> DeploymentPackage | None:
        return PACKAGE if (name, version) == (PACKAGE.name, PACKAGE.version) else None


class Unused:
    def using_template(self, template_id: str) -> list[str]:
        return []


PORTS = DeploymentTemplatePorts(cast(Any, None), Unused(), Packages(), frozenset({"helm", "argocd"}))
SHARED = Access("tenant-b")
PER_TENANT = Access("tenant-b", packages_per_tenant=True)


def check(access: Access = SHARED, **changes: Any) -> None:
    check_template(PORTS, DeploymentTemplateData.model_validate(data(**changes)), access)


def test_a_template_passing_every_rule_is_accepted() -> None:
    check()
    check(packageId=None, packageName="vdu-chart", packageVersion="1.0.0")
    check(Access("tenant-a", packages_per_tenant=True))


@pytest.mark.parametrize(("access", "changes", "named"), [
    (SHARED, {"packageId": "pkg-9"}, "packageId: no deployment package with id 'pkg-9'"),
    (SHARED, {"packageId": None, "packageName": "vdu-chart", "packageVersion": "2.0.0"}, "packageName, packageVersion"),
    (PER_TENANT, {}, "packageId: no deployment package"),  # another tenant's package: as if unknown
    (PER_TENANT, {"packageId": None, "packageName": "vdu-chart", "packageVersion": "1.0.0"}, "packageName"),
])
def test_the_package_reference_must_resolve_for_the_caller(access: Access, changes: dict[str, Any],
                                                           named: str) -> None:
    with pytest.raises(UnprocessableContent, match=named):
        check(access, **changes)


def test_placeholder_problems_are_422_naming_the_field() -> None:
    with pytest.raises(UnprocessableContent, match=r"placement.namespace: '\{zone\}'"):
        check(placement={"namespace": "du-{zone}"})


def test_the_dms_backend_must_be_configured() -> None:
    check(placement={"namespace": "du-{site}", "dmsAdapter": "argocd"})
    with pytest.raises(UnprocessableContent, match=r"placement.dmsAdapter: no DMS backend 'flux'.*argocd, helm"):
        check(placement={"namespace": "du-{site}", "dmsAdapter": "flux"})


def test_the_resource_pool_filter_must_parse() -> None:
    with pytest.raises(InvalidQuery, match=r"placement.resourcePoolFilter") as raised:
        check(placement={"namespace": "du-{site}", "resourcePoolFilter": "(eq,name"})
    assert raised.value.status == 400


def test_default_values_are_bounded_like_a_deployments_values() -> None:
    with pytest.raises(BadRequest, match=r"defaultValues: .* bytes of JSON"):
        check(defaultValues={"blob": "x" * 70_000})


def test_a_parameter_cannot_rewrite_the_resource_pool_filter() -> None:
    loose = {**SCHEMA, "properties": {**SCHEMA["properties"], "site": {"type": "string"}}}
    placement = {"namespace": "du", "resourcePoolFilter": "(eq,name,{site})"}
    with pytest.raises(DeploymentParametersInvalid) as raised:
        resolve(template(parameterSchema=loose, placement=placement), {"site": "x);(neq,name,none", "cellId": 1})
    assert raised.value.invalid_parameters[0]["name"] == "parameters.site"
