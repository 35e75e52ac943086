"""The O2ims Infrastructure Artifacts API as an SMO reads it (docs/provisioning.md "Templates"): the templates a
provisioning request may name, listed with the O2 query language and paging, read by either id, their defaults;
read-only (405), behind the inventory read scope."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import pytest
from chalice.test import Client

import app
from chalicelib.bootstrap import Components
from chalicelib.domain.auth import ALL_SCOPES
from chalicelib.settings import ProvisioningTemplateConfig, settings_from_environment
from devtools.token import mint_token
from tests.conftest import PROJECT_DIR
from tests.functional.conftest import SECRET, Api, assert_problem, serving, token_with

SERVICE = "/o2ims-infrastructureArtifacts"
TEMPLATES = f"{SERVICE}/v1/managedInfrastructureTemplates"
EKS, DTIAS = "eks-nodegroup-pool.1.0.0", "dtias-baremetal-pool.1.0.0"


def test_the_shipped_templates_are_listed_sorted_with_their_backends(api: Api) -> None:
    reply = api.get(TEMPLATES)
    assert reply.status == 200, reply.body
    templates = reply.json()
    assert [(t["name"], t["version"]) for t in templates] == [("dtias-baremetal-pool", "1.0.0"),
                                                            ("eks-nodegroup-pool", "1.0.0")]
    dtias, eks = templates
    assert set(eks) == {"artifactResourceId", "name", "version", "description", "parameterSchema",
                        "characteristics", "extensions"}
    assert eks["parameterSchema"]["required"] == ["size"]
    assert eks["characteristics"]["backendType"] == "aws"
    # config/gateway.yaml: the first aws and dtias backends create the pools
    assert eks["extensions"] == {"templateKind": "eks-nodegroup", "imsAdapter": "edge-aws"}
    assert dtias["extensions"] == {"templateKind": "dtias-resource-group", "imsAdapter": "dc-fleet"}


def test_the_list_takes_the_query_language_and_pages(api: Api) -> None:
    only = api.get(f"{TEMPLATES}?filter=(eq,characteristics/backendType,dtias)").json()
    assert [t["name"] for t in only] == ["dtias-baremetal-pool"]
    narrow = api.get(f"{TEMPLATES}?exclude_fields=parameterSchema").json()
    assert all("parameterSchema" not in t and "artifactResourceId" in t for t in narrow)
    first = api.get(f"{TEMPLATES}?limit=1")
    link = first.header("link")
    assert link is not None and [t["name"] for t in first.json()] == ["dtias-baremetal-pool"]
    found = re.match(r"<([^>]+)>; rel=\"next\"", link)
    assert found is not None
    target = urlparse(found.group(1))
    second = api.get(f"{target.path}?{target.query}")
    assert [t["name"] for t in second.json()] == ["eks-nodegroup-pool"] and second.header("link") is None
    marker = parse_qs(target.query)["nextpage_opaque_marker"][0]
    alarms = "/o2ims-infrastructureMonitoring/v1/alarms"  # a marker of this list is foreign to every other
    assert_problem(api.get(f"{alarms}?nextpage_opaque_marker={marker}"), 400, "nextpage_opaque_marker: invalid")
    assert_problem(api.get(f"{TEMPLATES}?filter=(eq,nonsense,1)"), 400, "nonsense")


def test_a_template_is_read_by_its_artifact_id_and_by_name_dot_version(api: Api) -> None:
    listed = {t["name"]: t for t in api.get(TEMPLATES).json()}
    by_name = api.get(f"{TEMPLATES}/{EKS}")
    assert by_name.status == 200, by_name.body
    by_uuid = api.get(f"{TEMPLATES}/{listed['eks-nodegroup-pool']['artifactResourceId']}")
    assert by_name.json() == by_uuid.json() == listed["eks-nodegroup-pool"]
    assert api.get(f"{TEMPLATES}/{EKS}?fields=name").json()["name"] == "eks-nodegroup-pool"


def test_defaults_answer_the_template_defaults(api: Api) -> None:
    eks = api.get(f"{TEMPLATES}/{EKS}/defaults")
    assert eks.status == 200, eks.body
    assert eks.json() == {"templateDefaults": {"instanceType": "m5.large", "cpuPinning": False}}
    assert api.get(f"{TEMPLATES}/{DTIAS}/defaults").json() == {"templateDefaults": {}}


def test_unknown_templates_answer_404(api: Api) -> None:
    assert_problem(api.get(f"{TEMPLATES}/eks-nodegroup-pool.9.9.9"), 404, "eks-nodegroup-pool.9.9.9")
    assert_problem(api.get(f"{TEMPLATES}/00000000-0000-0000-0000-000000000000/defaults"), 404)


@pytest.mark.parametrize("method, path", [("POST", TEMPLATES), ("PUT", f"{TEMPLATES}/{EKS}"),
                                          ("DELETE", f"{TEMPLATES}/{EKS}"), ("PATCH", f"{TEMPLATES}/{EKS}/defaults")])
def test_the_templates_are_read_only(api: Api, method: str, path: str) -> None:
    reply = api.request(method, path, body={})
    assert_problem(reply, 405)
    assert reply.header("allow") == "GET"


def test_reading_templates_needs_a_token_with_the_inventory_read_scope(api: Api) -> None:
    assert_problem(api.get(TEMPLATES, token=None), 401)
    assert_problem(api.get(f"{TEMPLATES}/{EKS}", token=token_with("o2dms:read")), 403)
    assert api.get(TEMPLATES, token=token_with("o2ims:read")).status == 200


def test_the_service_names_its_api_versions(api: Api) -> None:
    expected = {"uriPrefix": f"{SERVICE}/v1", "apiVersions": [{"version": "1.0.0"}]}
    assert api.get(f"{SERVICE}/api_versions").json() == expected
    assert api.get(f"{SERVICE}/v1/api_versions").json() == expected


def test_openapi_documents_the_artifacts_routes(api: Api) -> None:
    document = api.get("/openapi.json").json()
    paths = document["paths"]
    for path in (TEMPLATES, f"{TEMPLATES}/{{managedInfrastructureTemplateId}}",
                 f"{TEMPLATES}/{{managedInfrastructureTemplateId}}/defaults"):
        assert set(paths[path]) == {"get"}, path
        assert paths[path]["get"]["security"] == [{"bearerAuth": ["o2ims:read"]}]
    schema = document["components"]["schemas"]["ManagedInfrastructureTemplate"]
    assert {"artifactResourceId", "parameterSchema"} <= set(schema["properties"])


DU_POOL = ProvisioningTemplateConfig.model_validate({
    "name": "du-pool", "version": "2.0.0", "description": "DU nodes", "kind": "eks-nodegroup",
    "parameterSchema": {"type": "object", "required": ["size"], "additionalProperties": False,
                        "properties": {"size": {"type": "integer", "minimum": 1, "maximum": 8},
                                       "instanceType": {"const": "c6i.4xlarge"}, "cpuPinning": {"const": True}}},
    "defaults": {"instanceType": "c6i.4xlarge", "cpuPinning": True},
    "characteristics": {"backendType": "aws", "workload": "du"},
})


@pytest.fixture()
def operator_api(moto_url: str) -> Iterator[Api]:
    settings = settings_from_environment()
    gateway = settings.gateway.model_copy(update={"provisioning_templates": [DU_POOL]})
    components = Components(settings.model_copy(update={"gateway": gateway}))
    with serving(components), Client(app.app, stage_name="dev", project_dir=str(PROJECT_DIR)) as client:
        yield Api(client, mint_token(SECRET, ALL_SCOPES))


def test_an_operators_template_is_listed_with_the_shipped_ones(operator_api: Api) -> None:
    names = [t["name"] for t in operator_api.get(TEMPLATES).json()]
    assert names == ["dtias-baremetal-pool", "du-pool", "eks-nodegroup-pool"]
    du = operator_api.get(f"{TEMPLATES}/du-pool.2.0.0").json()
    assert du["extensions"]["imsAdapter"] == "edge-aws" and du["characteristics"]["workload"] == "du"
    defaults = operator_api.get(f"{TEMPLATES}/du-pool.2.0.0/defaults").json()
    assert defaults == {"templateDefaults": {"instanceType": "c6i.4xlarge", "cpuPinning": True}}


def test_the_example_template_of_the_gateway_configuration_is_valid() -> None:
    """config/gateway.yaml's commented `provisioningTemplates` example, uncommented, builds and resolves."""
    import yaml

    from chalicelib.domain.infrastructure_templates import resolve_parameters, template_registry
    from chalicelib.settings import GatewayConfig

    text = (PROJECT_DIR / "config" / "gateway.yaml").read_text()
    example = text[text.index("# provisioningTemplates:"):]
    gateway = GatewayConfig.model_validate(
        {"imsAdapters": [{"id": "edge-aws", "type": "aws"}],
         **yaml.safe_load("\n".join(line[2:] for line in example.splitlines() if line.startswith("# ")))})
    registry = template_registry([t.model_dump(by_alias=True) for t in gateway.provisioning_templates],
                                 [("edge-aws", "aws")])
    resolved = resolve_parameters(registry.get("du-pool", "1.0.0"), {"size": 2})
    assert resolved["instanceType"] == "c6i.4xlarge" and resolved["cpuPinning"] is True
