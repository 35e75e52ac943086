"""Deployment templates through the API (docs/dms.md, "Deployment templates"): CRUD, name + version unique, immutable
once a deployment uses them, the tenant's quota, the catalogue's tenancy, the query language, and their events on the
real `events` queue (moto). A stage of its own (tests/functional/tenancy_fixtures.py): its lists and queue hold only
what this module makes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib import resources
from chalicelib.bootstrap import Components
from chalicelib.domain.packages import DeploymentPackage
from tests.functional.conftest import Api, assert_problem
from tests.functional.tenancy_fixtures import Tenants, api_of, drain, stage_components, tenants
from tests.functional.test_deployment_store import new_deployment, new_operation
from tests.functional.test_package_event_publish import unreachable_events_queue

TEMPLATES = "/o2dms/v1/deploymentTemplates"
SCHEMA = {"type": "object", "additionalProperties": False, "required": ["site", "cellId"],
          "properties": {"site": {"type": "string", "pattern": "^[a-z0-9-]{1,20}$"},
                         "cellId": {"type": "integer", "minimum": 1, "maximum": 1007}}}


@pytest.fixture(scope="module")
def parts(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Components:
    return stage_components(tmp_path_factory.mktemp("templates"))


@pytest.fixture(scope="module")
def api(parts: Components) -> Iterator[Api]:
    with api_of(parts) as client:
        yield client


@pytest.fixture()
def who() -> Tenants:
    return tenants()


def package(parts: Components, owner: str) -> DeploymentPackage:
    """A package in the catalogue, stored as an upload stores it (the archive itself plays no part here)."""
    stored = DeploymentPackage(package_id=str(uuid.uuid4()), name=f"vdu-{uuid.uuid4().hex[:8]}", version="1.0.0",
                               uploaded_at="2026-12-07T10:00:00Z", source="upload", checksum="sha256:" + "a" * 64,
                               size=10, owner=owner)
    parts.package_store.create(stored)
    return stored


def body(package_id: str, name: str | None = None, version: str = "1.0.0", **changes: Any) -> dict[str, Any]:
    return {"name": name or f"vdu-{uuid.uuid4().hex[:8]}", "version": version, "packageId": package_id,
            "defaultValues": {"replicaCount": 1}, "parameterSchema": SCHEMA,
            "placement": {"namespace": "du-{site}", "name": "vdu-{site}-{cellId}",
                          "resourcePoolFilter": "(eq,name,pool-{site})"},
            **changes}


def create(api: Api, token: str, document: dict[str, Any]) -> dict[str, Any]:
    reply = api.request("POST", TEMPLATES, token=token, body=document)
    assert reply.status == 201, reply.body
    created: dict[str, Any] = reply.json()
    assert reply.header("Location") == f"{TEMPLATES}/{created['deploymentTemplateId']}"
    return created


def used_by(parts: Components, template_id: str, count: int = 1) -> list[str]:
    """Deployments made from the template, written as the deployments service records them."""
    made = []
    for _ in range(count):
        deployment = new_deployment()
        deployment = deployment.model_copy(update={"extensions": {**deployment.extensions,
                                                                  "deploymentTemplateId": template_id}})
        parts.deployment_store.create(deployment, new_operation(deployment.deployment_id))
        made.append(deployment.deployment_id)
    return made


def test_create_read_list_replace_delete(api: Api, parts: Components, who: Tenants) -> None:
    pkg = package(parts, who.a_name)
    sent = body(pkg.package_id, lifecycle={"timeoutSeconds": 300, "rollbackOnFailure": True})
    template = create(api, who.a, sent)
    assert {k: template[k] for k in sent} == sent
    assert template["createdAt"] == template["updatedAt"] and uuid.UUID(template["deploymentTemplateId"])
    item = f"{TEMPLATES}/{template['deploymentTemplateId']}"
    assert api.get(item, token=who.b).json() == template, "the shared catalogue: every tenant reads it"
    listed = api.get(f"{TEMPLATES}?filter=(eq,name,{template['name']})", token=who.b).json()
    assert [t["deploymentTemplateId"] for t in listed] == [template["deploymentTemplateId"]]

    changed = {**template, "description": "vDU, one cell per site"}  # a GET answer, modified, sent back
    replaced = api.request("PUT", item, token=who.a, body=changed)
    assert replaced.status == 200, replaced.body
    assert replaced.json()["description"] == "vDU, one cell per site"
    assert replaced.json()["createdAt"] == template["createdAt"]
    assert api.get(item, token=who.a).json() == replaced.json()

    assert api.request("DELETE", item, token=who.a).status == 204
    assert_problem(api.get(item, token=who.a), 404, template["deploymentTemplateId"])
    assert create(api, who.a, sent)["deploymentTemplateId"] != template["deploymentTemplateId"], "name free again"


def test_name_and_version_are_unique(api: Api, parts: Components, who: Tenants) -> None:
    pkg = package(parts, who.a_name)
    first = create(api, who.a, body(pkg.package_id, version="1.0.0"))
    assert_problem(api.request("POST", TEMPLATES, token=who.b, body=body(pkg.package_id, first["name"])), 409,
                   "already exists")
    second = create(api, who.a, body(pkg.package_id, first["name"], version="1.1.0"))
    moved = api.request("PUT", f"{TEMPLATES}/{second['deploymentTemplateId']}", token=who.a,
                        body=body(pkg.package_id, first["name"], version="1.0.0"))
    assert_problem(moved, 409, f"'{first['name']}' version '1.0.0' already exists")


def test_a_template_in_use_can_be_neither_replaced_nor_deleted(api: Api, parts: Components, who: Tenants) -> None:
    pkg = package(parts, who.a_name)
    template = create(api, who.a, body(pkg.package_id))
    item = f"{TEMPLATES}/{template['deploymentTemplateId']}"
    users = used_by(parts, template["deploymentTemplateId"], 12)
    put = assert_problem(api.request("PUT", item, token=who.a, body={**template, "description": "x"}), 409,
                         "used by 12 deployment(s)")
    assert "versions are immutable once used — publish a new version" in put["detail"]
    assert sum(d in put["detail"] for d in users) == 10 and "and 2 more" in put["detail"]
    deleted = assert_problem(api.request("DELETE", item, token=who.a), 409, "used by 12 deployment(s)")
    assert sorted(users)[0] in deleted["detail"]
    assert api.get(item, token=who.a).json() == template, "unchanged"


@pytest.mark.parametrize(("changes", "status", "named"), [
    ({"packageId": "no-such-package"}, 422, "packageId: no deployment package"),
    ({"packageId": None, "packageName": "nope", "packageVersion": "1.0.0"}, 422, "packageName, packageVersion"),
    ({"placement": {"namespace": "du-{zone}"}}, 422, "placement.namespace: '{zone}'"),
    ({"placement": {"namespace": "du-{site}", "dmsAdapter": "flux"}}, 422, "placement.dmsAdapter"),
    ({"placement": {"namespace": "du-{site}", "resourcePoolFilter": "(eq,name"}}, 400, "placement.resourcePoolFilter"),
    ({"defaultValues": {"blob": "x" * 70_000}}, 400, "defaultValues"),
    ({"parameterSchema": {"type": "string"}}, 400, "parameterSchema"),
])
def test_a_template_a_deployment_would_trip_over_is_refused(api: Api, parts: Components, who: Tenants,
                                                            changes: dict[str, Any], status: int, named: str) -> None:
    document = {k: v for k, v in {**body(package(parts, who.a_name).package_id), **changes}.items() if v is not None}
    assert_problem(api.request("POST", TEMPLATES, token=who.a, body=document), status, named)
    assert api.get(f"{TEMPLATES}?filter=(eq,name,{document['name']})", token=who.a).json() == []


def test_put_refuses_a_changed_server_assigned_field(api: Api, parts: Components, who: Tenants) -> None:
    template = create(api, who.a, body(package(parts, who.a_name).package_id))
    reply = api.request("PUT", f"{TEMPLATES}/{template['deploymentTemplateId']}", token=who.a,
                        body={**template, "createdAt": "2020-01-01T00:00:00Z"})
    assert_problem(reply, 422, "createdAt: netweave assigns it")


def test_in_the_shared_catalogue_only_the_owner_or_an_admin_changes_a_template(api: Api, parts: Components,
                                                                              who: Tenants) -> None:
    template = create(api, who.a, body(package(parts, who.a_name).package_id))
    item = f"{TEMPLATES}/{template['deploymentTemplateId']}"
    assert_problem(api.request("DELETE", item, token=who.b), 403, "belongs to another tenant")
    assert_problem(api.request("PUT", item, token=who.b, body=template), 403, "belongs to another tenant")
    assert api.request("DELETE", item, token=who.admin).status == 204


def test_per_tenant_templates_are_unknown_to_other_tenants_and_counted_against_a_quota(
        api: Api, parts: Components, who: Tenants, tmp_path: Path) -> None:
    owned = stage_components(tmp_path, parts.settings.stage, NETWEAVE_PACKAGES_PER_TENANT="true",
                             NETWEAVE_MAX_DEPLOYMENT_TEMPLATES_PER_CLIENT="2")
    with api_of(owned) as per_tenant:
        pkg = package(parts, who.a_name)
        first = create(per_tenant, who.a, body(pkg.package_id))
        item = f"{TEMPLATES}/{first['deploymentTemplateId']}"
        for method, sent in (("GET", None), ("PUT", first), ("DELETE", None)):
            assert_problem(per_tenant.request(method, item, token=who.b, body=sent), 404, "no deployment template")
        assert per_tenant.get(f"{TEMPLATES}?filter=(eq,name,{first['name']})", token=who.b).json() == []
        assert_problem(per_tenant.request("POST", TEMPLATES, token=who.b, body=body(pkg.package_id)), 422,
                       "packageId: no deployment package"), "another tenant's package is unknown too"
        assert per_tenant.get(item, token=who.admin).json() == first

        create(per_tenant, who.a, body(pkg.package_id))
        assert_problem(per_tenant.request("POST", TEMPLATES, token=who.a, body=body(pkg.package_id)), 403,
                       "at most 2 deployment templates")
        assert per_tenant.request("DELETE", item, token=who.a).status == 204
        create(per_tenant, who.a, body(pkg.package_id))  # room again


def test_selectors_filter_and_paging(api: Api, parts: Components, who: Tenants) -> None:
    pkg = package(parts, who.a_name)
    name = f"vdu-{uuid.uuid4().hex[:8]}"
    made = {create(api, who.a, body(pkg.package_id, name, version=f"1.{n}.0"))["deploymentTemplateId"]
            for n in range(3)}
    picked = api.get(f"{TEMPLATES}?filter=(eq,name,{name});(eq,version,1.1.0)&exclude_fields=parameterSchema,"
                     "defaultValues,placement", token=who.a).json()
    assert [t["version"] for t in picked] == ["1.1.0"]
    assert not {"parameterSchema", "defaultValues", "placement"} & set(picked[0])
    assert "deploymentTemplateId" in picked[0], "identifiers are never removed"
    one = api.get(f"{TEMPLATES}/{next(iter(made))}?exclude_fields=parameterSchema", token=who.a).json()
    assert "parameterSchema" not in one and one["name"] == name
    seen: list[str] = []
    page = f"{TEMPLATES}?filter=(eq,name,{name})&limit=2"
    while page:
        reply = api.get(page, token=who.a)
        seen += [t["deploymentTemplateId"] for t in reply.json()]
        link = reply.header("Link")
        page = link[link.index("/o2dms"):link.index(">")] if link else ""
    assert sorted(seen) == sorted(made)
    assert_problem(api.get(f"{TEMPLATES}?filter=(eq,colour,red)", token=who.a), 400, "colour")


def test_other_methods_are_405(api: Api, who: Tenants) -> None:
    assert api.request("PATCH", f"{TEMPLATES}/{uuid.uuid4()}", token=who.a, body={}).status == 405
    assert api.request("DELETE", TEMPLATES, token=who.a).status == 405


def test_reading_needs_dms_read_and_changing_dms_write(api: Api) -> None:
    from tests.functional.conftest import token_with

    assert api.get(TEMPLATES, token=token_with("o2dms:read")).status == 200
    assert_problem(api.request("POST", TEMPLATES, token=token_with("o2dms:read"), body={}), 403)


def test_creation_and_deletion_publish_their_events(api: Api, parts: Components, who: Tenants) -> None:
    drain(parts, resources.EVENTS)  # this stage's queue: what earlier tests published
    template = create(api, who.a, body(package(parts, who.a_name).package_id))
    assert api.request("DELETE", f"{TEMPLATES}/{template['deploymentTemplateId']}", token=who.a).status == 204
    events = [json.loads(r["body"]) for r in drain(parts, resources.EVENTS)]
    assert [e["detailType"] for e in events] == ["TemplateCreated", "TemplateDeleted"]
    assert events[0]["post"] == template and events[1]["prior"] == template
    assert all(e["source"] == "dms" and e["shared"] and e["owner"] == who.a_name for e in events)


def test_a_template_whose_event_cannot_be_queued_is_not_kept(parts: Components, who: Tenants, tmp_path: Path) -> None:
    broken = stage_components(tmp_path, parts.settings.stage)
    unreachable_events_queue(broken)
    with api_of(broken) as api:
        sent = body(package(parts, who.a_name).package_id)
        reply = api.request("POST", TEMPLATES, token=who.a, body=sent)
        assert_problem(reply, 503, "could not be queued") and reply.header("Retry-After")
        assert api.get(f"{TEMPLATES}?filter=(eq,name,{sent['name']})", token=who.a).json() == []
    with api_of(parts) as api:
        create(api, who.a, sent)  # its name and version were released, and the quota counter with them
