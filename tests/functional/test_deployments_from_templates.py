"""Deployments from deployment templates end to end: the API (Chalice test client) resolves a template and a site's
few parameters, the real `dms-operations` queue carries the operation, the worker installs with the real helm binary
on kubesim. Templates are written with their store (the template API is tested on its own)."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.adapters.helm_binary import PROJECT_HELM
from chalicelib.domain.auth import ALL_SCOPES
from chalicelib.domain.deployment_templates import DeploymentTemplate
from chalicelib.domain.events import utc_now_iso
from chalicelib.handlers import inventory as inventory_handlers
from devtools.token import mint_token
from tests.conftest import PROJECT_DIR
from tests.functional.conftest import SECRET, Api, serving
from tests.functional.inventory_fixtures import Site, site_environment
from tests.functional.test_deployments_flow import call, run_worker, upload

pytestmark = pytest.mark.xdist_group("helm-adapter")

DEPLOYMENTS = "/o2dms/v1/deployments"
SITES = ("a", "b", "c")
SCHEMA = {"type": "object", "required": ["site", "cellId"], "additionalProperties": False,
          "properties": {"site": {"type": "string", "pattern": "^[a-z][a-z0-9]{0,15}$"},
                         "cellId": {"type": "integer", "minimum": 1, "maximum": 1007}}}


@pytest.fixture(scope="module")
def site(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("templates-site")
    kubeconfig = tmp / "kubeconfig"
    backends = ("dmsAdapters:\n"
                f"  - {{id: helm, type: helm, default: true, options: {{kubeconfig: {kubeconfig}}}}}\n"
                f"  - {{id: flux, type: flux, options: {{kubeconfig: {kubeconfig}}}}}\n")
    for found in site_environment(tmp, adapter_id="templates-site", more_adapters=backends):
        for name in SITES:
            found.kubesim.add_node(f"du-pool-{name}")
        found.kubesim.add_node("du-pool-twin", labels={"twin": "1"})
        found.kubesim.add_node("du-pool-twin-2")
        inventory_handlers.poll_inventory(found.components)
        yield found


@pytest.fixture(scope="module")
def api(site: Site) -> Iterator[Api]:
    import app

    with serving(site.components), Client(app.app, stage_name="dev", project_dir=str(PROJECT_DIR)) as client:
        yield Api(client, mint_token(SECRET, ALL_SCOPES))


@pytest.fixture(scope="module")
def chart(api: Api, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One chart (`helm create`'s nginx) in two versions, uploaded: {"name", "1.0.0": id, "1.1.0": id}."""
    work = tmp_path_factory.mktemp("vdu-templates")
    env = {"HOME": str(work), "PATH": "/usr/bin:/bin"}
    name = f"vdu-{uuid.uuid4().hex[:6]}"
    subprocess.run([str(PROJECT_HELM), "create", name], cwd=work, check=True, capture_output=True, env=env)
    found: dict[str, Any] = {"name": name}
    for version in ("1.0.0", "1.1.0"):
        subprocess.run([str(PROJECT_HELM), "package", name, "--version", version], cwd=work, check=True,
                       capture_output=True, env=env)
        found[version] = upload(api, (work / f"{name}-{version}.tgz").read_bytes())
    return found


def template(site: Site, name: str, version: str, **data: Any) -> str:
    """Store a template (as its API would) and answer its id."""
    now, template_id = utc_now_iso(), str(uuid.uuid4())
    wire = {"name": name, "version": version, "parameterSchema": SCHEMA, "deploymentTemplateId": template_id,
            "createdAt": now, "updatedAt": now, **data}
    site.components.deployment_template_store.create(DeploymentTemplate.model_validate(wire), None)
    return template_id


def deploy(api: Api, site: Site, body: dict[str, Any]) -> dict[str, Any]:
    reply = call(api, "POST", DEPLOYMENTS, body)
    assert reply.status == 202, reply.body
    run_worker(site.components)
    shown: dict[str, Any] = call(api, "GET", reply.header("Location")).json()
    return shown


def upgrade(api: Api, site: Site, deployment: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    reply = call(api, "POST", f"{DEPLOYMENTS}/{deployment['deploymentId']}/upgrade", body)
    assert reply.status == 202, reply.body
    run_worker(site.components)
    operation: dict[str, Any] = call(api, "GET", reply.header("Location")).json()
    return operation


def test_three_sites_from_one_template_then_one_upgraded(api: Api, site: Site, chart: dict[str, Any]) -> None:
    name = f"vdu-{uuid.uuid4().hex[:6]}"
    placement = {"name": "vdu-{site}", "namespace": "du-{site}", "resourcePoolFilter": "(eq,name,du-pool-{site})"}
    v1 = template(site, name, "1", packageName=chart["name"], packageVersion="1.0.0", placement=placement,
                  defaultValues={"replicaCount": 1, "du": {"bandwidth": "100MHz"}}, lifecycle={"timeoutSeconds": 60})
    pools = {p["name"]: p["resourcePoolId"] for p in
             call(api, "GET", "/o2ims-infrastructureInventory/v1/resourcePools").json()}

    deployed = {s: deploy(api, site, {"deploymentTemplateId": v1, "parameters": {"site": s, "cellId": 10 + i}})
                for i, s in enumerate(SITES)}
    for i, s in enumerate(SITES):
        shown = deployed[s]
        assert shown["status"] == "deployed", shown
        assert (shown["name"], shown["namespace"]) == (f"vdu-{s}", f"du-{s}")
        assert shown["resourcePoolId"] == pools[f"du-pool-{s}"]
        assert shown["values"] == {"replicaCount": 1, "du": {"bandwidth": "100MHz"}, "site": s, "cellId": 10 + i}
        assert {k: shown["extensions"][k] for k in ("deploymentTemplateId", "deploymentTemplateName",
                                                    "deploymentTemplateVersion", "parameters")} == {
            "deploymentTemplateId": v1, "deploymentTemplateName": name, "deploymentTemplateVersion": "1",
            "parameters": {"site": s, "cellId": 10 + i}}
    assert sorted(site.components.deployment_store.using_template(v1)) == sorted(
        d["deploymentId"] for d in deployed.values())

    v2 = template(site, name, "2", packageId=chart["1.1.0"], placement=placement,
                  defaultValues={"replicaCount": 2, "du": {"bandwidth": "100MHz"}})
    operation = upgrade(api, site, deployed["b"], {"deploymentTemplateId": v2})
    assert operation["status"] == "succeeded", operation
    item = f"{DEPLOYMENTS}/{deployed['b']['deploymentId']}"
    upgraded = call(api, "GET", item).json()
    assert upgraded["packageVersion"] == "1.1.0" and upgraded["values"]["replicaCount"] == 2, upgraded
    assert upgraded["extensions"]["deploymentTemplateId"] == v2
    assert upgraded["extensions"]["deploymentTemplateVersion"] == "2"
    assert upgraded["extensions"]["parameters"] == {"site": "b", "cellId": 11}  # the recorded ones, re-checked
    status = call(api, "GET", f"{item}/status").json()
    assert status["release"]["chartVersion"] == "1.1.0" and status["workloads"][0]["ready"] == 2, status
    assert site.components.deployment_store.using_template(v2) == [deployed["b"]["deploymentId"]]
    assert deployed["b"]["deploymentId"] not in site.components.deployment_store.using_template(v1)


def test_a_bad_cell_id_is_named_and_nothing_is_created(api: Api, site: Site, chart: dict[str, Any]) -> None:
    v1 = template(site, f"bad-{uuid.uuid4().hex[:6]}", "1", packageId=chart["1.0.0"],
                  placement={"name": "bad-{site}", "namespace": "du-bad-{site}"})
    before = call(api, "GET", DEPLOYMENTS).json()

    reply = call(api, "POST", DEPLOYMENTS, {"deploymentTemplateId": v1, "parameters": {"site": "z", "cellId": 5000}})

    assert reply.status == 400, reply.body
    assert [p["name"] for p in reply.json()["invalidParams"]] == ["parameters.cellId"]
    assert call(api, "GET", DEPLOYMENTS).json() == before
    assert site.components.deployment_store.operations_in("queued") == []
    assert run_worker(site.components) == []  # no message was queued


def test_the_two_forms_do_not_mix(api: Api, site: Site, chart: dict[str, Any]) -> None:
    reply = call(api, "POST", DEPLOYMENTS, {"deploymentTemplateId": "x", "parameters": {}, "namespace": "n",
                                             "packageId": chart["1.0.0"]})
    assert reply.status == 400 and "namespace, packageId: not accepted with deploymentTemplateId" in \
        reply.json()["detail"], reply.body
    unknown = call(api, "POST", DEPLOYMENTS, {"deploymentTemplateId": str(uuid.uuid4()), "parameters": {}})
    assert unknown.status == 422 and unknown.json()["detail"].startswith("deploymentTemplateId: no deployment "
                                                                         "template"), unknown.body


def test_a_pool_filter_matching_several_pools_is_refused(api: Api, site: Site, chart: dict[str, Any]) -> None:
    v1 = template(site, f"twin-{uuid.uuid4().hex[:6]}", "1", packageId=chart["1.0.0"],
                  placement={"namespace": "du-{site}", "resourcePoolFilter": "(cont,name,du-pool-twin)"})
    reply = call(api, "POST", DEPLOYMENTS, {"deploymentTemplateId": v1, "parameters": {"site": "t", "cellId": 1}})
    assert reply.status == 422, reply.body
    assert "(cont,name,du-pool-twin)' matches 2 resource pools" in reply.json()["detail"]


def test_upgrades_stay_within_the_template_and_the_release(api: Api, site: Site, chart: dict[str, Any]) -> None:
    name = f"keep-{uuid.uuid4().hex[:6]}"
    placement = {"name": "keep-{site}", "namespace": "du-keep-{site}"}
    v1 = template(site, name, "1", packageId=chart["1.0.0"], placement=placement)
    moved = template(site, name, "2", packageId=chart["1.1.0"],
                     placement={"name": "keep-{site}", "namespace": "du-moved-{site}"})
    other = template(site, f"other-{uuid.uuid4().hex[:6]}", "2", packageId=chart["1.1.0"], placement=placement)
    shown = deploy(api, site, {"deploymentTemplateId": v1, "parameters": {"site": "k", "cellId": 7}})
    path = f"{DEPLOYMENTS}/{shown['deploymentId']}/upgrade"

    for body, expected in (({"deploymentTemplateId": other}, "is not a version of"),
                           ({"deploymentTemplateId": moved}, "a release cannot move")):
        reply = call(api, "POST", path, body)
        assert reply.status == 422 and expected in reply.json()["detail"], reply.body
    bad = call(api, "POST", path, {"deploymentTemplateId": v1, "parameters": {"site": "k", "cellId": 0}})
    assert bad.status == 400 and bad.json()["invalidParams"][0]["name"] == "parameters.cellId"

    plain = deploy(api, site, {"name": "plain", "namespace": "du-plain", "packageId": chart["1.0.0"]})
    refused = call(api, "POST", f"{DEPLOYMENTS}/{plain['deploymentId']}/upgrade", {"deploymentTemplateId": v1})
    assert refused.status == 422 and "made without a template" in refused.json()["detail"]

    by_package = upgrade(api, site, shown, {"packageId": chart["1.1.0"]})
    assert by_package["status"] == "succeeded"
    after = call(api, "GET", f"{DEPLOYMENTS}/{shown['deploymentId']}").json()
    # the record says where the deployment came from; packageId and values say what runs
    assert after["packageVersion"] == "1.1.0" and after["extensions"]["deploymentTemplateId"] == v1


def test_rollback_on_failure_undoes_a_failed_upgrade(api: Api, site: Site, chart: dict[str, Any]) -> None:
    def failing(name: str, rollback: bool) -> tuple[str, str]:
        placement = {"name": "{site}", "namespace": "du-rb-{site}"}
        lifecycle = {"timeoutSeconds": 10, "rollbackOnFailure": rollback}
        good = template(site, name, "1", packageId=chart["1.0.0"], placement=placement, lifecycle=lifecycle)
        bad = template(site, name, "2", packageId=chart["1.1.0"], placement=placement, lifecycle=lifecycle,
                       defaultValues={"image": {"tag": "fail"}})
        return good, bad

    outcomes = {}
    for rollback in (True, False):
        good, bad = failing(f"rb-{uuid.uuid4().hex[:6]}", rollback)
        shown = deploy(api, site, {"deploymentTemplateId": good,
                                   "parameters": {"site": f"rb{'yes' if rollback else 'no'}", "cellId": 3}})
        assert shown["status"] == "deployed", shown
        operation = upgrade(api, site, shown, {"deploymentTemplateId": bad})
        assert operation["status"] == "failed", operation
        item = f"{DEPLOYMENTS}/{shown['deploymentId']}"
        outcomes[rollback] = (call(api, "GET", item).json(), call(api, "GET", f"{item}/history").json())

    rolled, history = outcomes[True]
    assert rolled["status"] == "deployed" and rolled["packageVersion"] == "1.0.0", rolled
    assert "rolled back (rollbackOnFailure)" in rolled["extensions"]["statusReason"]
    assert rolled["extensions"]["deploymentTemplateVersion"] == "1"  # the failed version is not recorded
    assert [(r["revision"], r["status"], r["packageVersion"]) for r in history] == [
        (1, "superseded", "1.0.0"), (2, "failed", "1.1.0"), (3, "deployed", "1.0.0")]
    failed, history = outcomes[False]
    assert failed["status"] == "failed" and failed["packageVersion"] == "1.0.0", failed
    assert [(r["revision"], r["status"]) for r in history] == [(1, "deployed"), (2, "failed")]


def test_rollback_on_failure_is_refused_where_the_backend_cannot(api: Api, site: Site,
                                                                  chart: dict[str, Any]) -> None:
    v1 = template(site, f"flux-{uuid.uuid4().hex[:6]}", "1", packageId=chart["1.0.0"],
                  placement={"namespace": "du-flux-{site}", "dmsAdapter": "flux"},
                  lifecycle={"rollbackOnFailure": True})
    reply = call(api, "POST", DEPLOYMENTS, {"deploymentTemplateId": v1, "parameters": {"site": "f", "cellId": 1}})
    assert reply.status == 422, reply.body
    assert reply.json()["detail"].startswith("lifecycle.rollbackOnFailure: backend 'flux'")
