"""Infrastructure templates (docs/provisioning.md "Templates"): defaults merged under a request's parameters, every
bad parameter named, schemas checked when the registry is built, lookups by name+version and by id, and the shipped
schemas accepting exactly the shapes their backends accept."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from chalicelib.api import problems
from chalicelib.domain.errors import ConfigurationError, NotFound
from chalicelib.domain.infrastructure_templates import (
    MAX_PARAMETERS_BYTES,
    TEMPLATE_NAMESPACE,
    InfrastructureTemplate,
    TemplateKind,
    TemplateParametersInvalid,
    TemplateRegistry,
    UnknownTemplate,
    merged_parameters,
    pool_request_fields,
    resolve_parameters,
    template_registry,
)
from chalicelib.settings import GatewayConfig

ADAPTERS = [("edge-aws", "aws"), ("other-aws", "aws"), ("dc-fleet", "dtias")]
REGISTRY = template_registry([], ADAPTERS)
EKS = REGISTRY.get("eks-nodegroup-pool", "1.0.0")
DTIAS = REGISTRY.get("dtias-baremetal-pool", "1.0.0")

FULL_EKS = {
    "poolName": "du_pool-1", "size": 3, "minSize": 1, "maxSize": 5, "instanceType": "c6i.2xlarge",
    "labels": {"oran.io/role": "du"}, "taints": [{"key": "du", "value": "true", "effect": "NO_SCHEDULE"},
                                                 {"key": "spot", "effect": "PREFER_NO_SCHEDULE"}],
    "cpuPinning": True, "capacityType": "SPOT", "amiType": "AL2023_x86_64_STANDARD", "diskSize": 80,
    "clusterName": "netweave-demo", "location": "edge-nyc",
}
FULL_DTIAS = {"poolName": "du-servers", "size": 2, "location": "dc-newark-1", "resourceProfileId": "du-profile",
              "sourcePool": "newark-default", "serverLabels": {"rack": "r1"}}


def configured(**overrides: Any) -> dict[str, Any]:
    return {"name": "du-pool", "version": "1.0.0", "description": "DU nodes", "kind": "eks-nodegroup",
            "parameterSchema": {"type": "object", "properties": {"size": {"type": "integer"}}},
            "defaults": {}, **overrides}


def invalid(template: InfrastructureTemplate, parameters: Any) -> TemplateParametersInvalid:
    with pytest.raises(TemplateParametersInvalid) as caught:
        resolve_parameters(template, parameters)
    return caught.value


# --- merging and resolving -------------------------------------------------------------------------------------------


def test_parameters_win_over_defaults_and_objects_merge_one_level_deep() -> None:
    defaults = {"instanceType": "m5.large", "labels": {"tier": "edge", "zone": "a"}, "taints": [{"key": "x"}]}
    merged = merged_parameters(defaults, {"instanceType": "c6i.large", "labels": {"zone": "b"}, "taints": []})
    assert merged == {"instanceType": "c6i.large", "labels": {"tier": "edge", "zone": "b"}, "taints": []}
    assert defaults["labels"] == {"tier": "edge", "zone": "a"}  # the template's defaults are never changed


def test_a_request_gets_the_template_defaults_it_does_not_give() -> None:
    assert resolve_parameters(EKS, {"size": 2}) == {"size": 2, "instanceType": "m5.large", "cpuPinning": False}
    assert resolve_parameters(EKS, {"size": 2, "cpuPinning": True})["cpuPinning"] is True


def test_every_bad_parameter_is_named_sorted_by_path() -> None:
    error = invalid(EKS, {"size": -1, "colour": "red", "labels": {"a": 3},
                          "taints": [{"key": "k", "effect": "NOPE"}], "capacityType": "CAPACITY_BLOCK"})
    names = [p["name"] for p in error.invalid_parameters]
    assert names == ["templateParameters.capacityType", "templateParameters.colour", "templateParameters.labels.a",
                     "templateParameters.size", "templateParameters.taints.0.effect"]
    assert "templateParameters.size: -1 is less than the minimum of 0" in error.detail
    assert error.status == 400 and error.slug == "invalid-template-parameters"
    assert "is not a parameter of template eks-nodegroup-pool.1.0.0" in error.invalid_parameters[1]["reason"]


def test_missing_required_parameters_are_named_each() -> None:
    error = invalid(DTIAS, {})
    assert error.invalid_parameters == [{"name": "templateParameters.location", "reason": "is required"},
                                        {"name": "templateParameters.size", "reason": "is required"}]


@pytest.mark.parametrize("parameters", [None, [], "size=1", 3])
def test_template_parameters_must_be_an_object(parameters: Any) -> None:
    assert invalid(EKS, parameters).invalid_parameters == [{"name": "templateParameters",
                                                            "reason": "must be a JSON object"}]


def test_oversized_parameters_are_refused_before_validation() -> None:
    error = invalid(EKS, {"size": 1, "labels": {f"k{i}": "v" * 60 for i in range(MAX_PARAMETERS_BYTES // 60)}})
    assert [p["name"] for p in error.invalid_parameters] == ["templateParameters"]
    assert f"at most {MAX_PARAMETERS_BYTES}" in error.detail


def test_problem_details_carry_the_invalid_params() -> None:
    response = problems.from_error(invalid(DTIAS, {"size": 0, "location": "dc-newark-1"}))
    body = json.loads(response.body)
    assert response.status_code == 400
    assert body["invalidParams"] == [{"name": "templateParameters.size", "reason": "0 is less than the minimum of 1"}]
    assert body["type"].endswith("/invalid-template-parameters")


# --- the shipped schemas -------------------------------------------------------------------------------------------


def test_the_shipped_schemas_accept_a_full_valid_request() -> None:
    assert resolve_parameters(EKS, FULL_EKS) == FULL_EKS
    assert resolve_parameters(DTIAS, FULL_DTIAS) == FULL_DTIAS


@pytest.mark.parametrize("name, value", [
    ("poolName", "-starts-with-dash"), ("poolName", "x" * 64), ("size", 1.5), ("size", True), ("minSize", -1),
    ("maxSize", 0), ("instanceType", ""), ("labels", {"a": ""}), ("labels", {"k" * 64: "v"}), ("labels", ["a"]),
    ("taints", [{"key": "k"}]), ("taints", [{"key": "k", "effect": "NO_SCHEDULE", "extra": 1}]),
    ("taints", [{"key": "k", "value": "v" * 64, "effect": "NO_SCHEDULE"}]),
    ("taints", [{"key": "k", "effect": "NO_SCHEDULE"}] * 51), ("cpuPinning", "yes"), ("capacityType", "spot"),
    ("diskSize", 0), ("amiType", 7), ("clusterName", ""), ("location", 5),
])
def test_the_eks_schema_refuses_each_wrong_shape(name: str, value: Any) -> None:
    error = invalid(EKS, {**FULL_EKS, name: value})
    assert {p["name"].split(".")[1] for p in error.invalid_parameters} == {name}


@pytest.mark.parametrize("name, value", [
    ("poolName", "Upper"), ("poolName", "under_score"), ("poolName", "x" * 54), ("size", 0), ("size", "2"),
    ("location", ""), ("resourceProfileId", 3), ("sourcePool", ""), ("serverLabels", {"rack": 1}),
])
def test_the_dtias_schema_refuses_each_wrong_shape(name: str, value: Any) -> None:
    error = invalid(DTIAS, {**FULL_DTIAS, name: value})
    assert {p["name"].split(".")[1] for p in error.invalid_parameters} == {name}


def test_parameters_become_the_pool_request_fields() -> None:
    fields = pool_request_fields(resolve_parameters(EKS, FULL_EKS))
    assert (fields["name"], fields["replicas"], fields["location"], fields["instance_type"]) == (
        "du_pool-1", 3, "edge-nyc", "c6i.2xlarge")
    assert fields["extensions"] == {k: v for k, v in FULL_EKS.items()
                                    if k not in ("poolName", "size", "location", "instanceType")}
    assert pool_request_fields({"size": 1})["name"] is None  # the service derives one from the request id


# --- the registry -------------------------------------------------------------------------------------------------


def test_templates_are_found_by_artifact_id_and_by_name_dot_version() -> None:
    assert EKS.artifact_resource_id == str(uuid.uuid5(TEMPLATE_NAMESPACE, "eks-nodegroup-pool.1.0.0"))
    assert REGISTRY.find(EKS.artifact_resource_id) is REGISTRY.find("eks-nodegroup-pool.1.0.0") is EKS
    with pytest.raises(NotFound):
        REGISTRY.find("eks-nodegroup-pool.2.0.0")


def test_an_unknown_template_or_version_answers_422_naming_what_exists() -> None:
    with pytest.raises(UnknownTemplate, match=r"its versions: 1\.0\.0") as caught:
        REGISTRY.get("eks-nodegroup-pool", "2.0.0")
    assert caught.value.status == 422
    with pytest.raises(UnknownTemplate, match="templates: dtias-baremetal-pool, eks-nodegroup-pool"):
        REGISTRY.get("gpu-pool", "1.0.0")


def test_templates_are_sorted_by_name_then_version_numerically() -> None:
    registry = template_registry([configured(version="1.10.0"), configured(version="1.9.0")], ADAPTERS)
    assert [t.template_id for t in registry.all()] == [
        "dtias-baremetal-pool.1.0.0", "du-pool.1.9.0", "du-pool.1.10.0", "eks-nodegroup-pool.1.0.0"]
    assert [t.template_id for t in registry.after("du-pool", "1.9.0")] == ["du-pool.1.10.0",
                                                                           "eks-nodegroup-pool.1.0.0"]


def test_each_template_gets_the_first_backend_of_its_type_unless_it_names_one() -> None:
    assert (EKS.backend, DTIAS.backend) == ("edge-aws", "dc-fleet")
    assert template_registry([configured(backend="other-aws")], ADAPTERS).get("du-pool", "1.0.0").backend == \
        "other-aws"
    assert template_registry([], []).get("eks-nodegroup-pool", "1.0.0").backend is None
    assert EKS.to_wire()["extensions"] == {"templateKind": "eks-nodegroup", "imsAdapter": "edge-aws"}


@pytest.mark.parametrize("spec, message", [
    (configured(name="eks-nodegroup-pool"), "defined twice"),
    (configured(backend="dc-fleet"), "not an IMS backend of type aws"),
    (configured(parameterSchema={"type": "object", "properties": {"size": {"type": "integr"}}}),
     "not a valid JSON Schema"),
    (configured(parameterSchema={"type": "array"}), "must describe an object"),
    (configured(defaults={"size": "two"}), "its defaults do not fit"),
])
def test_a_wrong_configured_template_fails_when_the_registry_is_built(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        template_registry([spec], ADAPTERS)
    assert "du-pool" in str(caught.value) or "eks-nodegroup-pool" in str(caught.value)


def test_the_same_template_twice_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="defined twice"):
        TemplateRegistry([EKS, EKS])


def test_provisioning_templates_are_read_from_the_gateway_configuration() -> None:
    gateway = GatewayConfig.model_validate({"imsAdapters": [{"id": "edge", "type": "aws"}], "provisioningTemplates": [
        configured(kind="dtias-resource-group", characteristics={"site": "x"})]})
    spec = gateway.provisioning_templates[0]
    assert spec.kind == "dtias-resource-group" and spec.parameter_schema["type"] == "object"
    registry = template_registry([spec.model_dump(by_alias=True)], [("edge", "aws")])
    template = registry.get("du-pool", "1.0.0")
    assert template.kind is TemplateKind.DTIAS_RESOURCE_GROUP and template.backend is None
    assert template.characteristics == {"site": "x"}
